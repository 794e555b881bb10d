"""The desktop and phone faces: login page, live status, scan, callback, outcome pages."""
