"""The kiosk page: a full-screen QR that logs in whoever scans it, one login after another
(page.py; the script is static/kiosk.js)."""
