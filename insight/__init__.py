"""The top floor: what reads across every app (the clinic dashboard, the FHIR export, the
patient export). Nothing below imports it."""
