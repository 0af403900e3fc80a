"""Reading a process: the patient's client, source lookups, the profilers' drivers
(``probes/``), and ``diagnose``'s evidence and finding rules. Works on any Python process;
the lab's service adds its debug surface and ``/metrics``."""
