"""The admin panel's routes, one module per page (each exposes routes())."""
