"""Flask extensions, made here and bound to the app in the factory, so any
module can use them without importing the factory's package."""
from flask_compress import Compress
from flask_htmx import HTMX
from flask_wtf.csrf import CSRFProtect

compress = Compress()
csrf = CSRFProtect()
htmx = HTMX()
