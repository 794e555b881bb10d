"""QR login relay: sign in on a desktop or kiosk by scanning a QR code with a phone app."""

__version__ = "0.1.0"
