"""Reminders and recalls: message rows, the dispatcher, channel backends and patient links.

Other apps plan messages through ``scheduling.reminders.services``; nothing here reads their
records.
"""
