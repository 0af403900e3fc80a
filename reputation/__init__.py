"""The lab's internal reputation service (seed Q376): a gRPC dependency of the patient, served
over mutual TLS with a bearer token per caller. ``python -m reputation --help`` runs it."""
