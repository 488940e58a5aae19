"""Flask-free foundations every package may use: settings, database, ids, text, domain errors.

Nothing here imports another part of the project.
"""
