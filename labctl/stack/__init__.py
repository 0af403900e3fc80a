"""Running the lab: processes by PID, ports, the service, the SMTP sink, Prometheus, Redis,
the load and the websocket crowd, and the preflight of this machine."""
