"""The one query of the bare app (bench/bare.py) and of this app's baseline_query view: one
patient's id and surname by key. Kept apart so that both read the same text."""

QUERY = "SELECT id, last_name FROM patients_patient WHERE id = %s"
