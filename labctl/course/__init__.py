"""Teaching: the lab catalogue, running and grading a lab, incident drills, the notebooks'
walkthrough, the GC-tuning exercise, and the dashboards (built, and pushed to a Grafana)."""
