"""inspector: an offline-first field tool for IEC accreditation inspections.

The folders are the layers, each importing only those below it
(tests/test_layout.py holds them to it):

    inspector/app/     top: the Flask app factory, its blueprints (views/),
                       the CLI, the demo data and the production server
    sync/              middle: the sync protocol (field table, op log, push
                       and pull) and its HTTP API
    inspector/domain/  bottom: the database, who may do what (access), and
                       one module per concern owning its SQL

This file imports nothing, so the protocol can build on the domain without
loading the app.
"""
