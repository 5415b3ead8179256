"""`python -m kiosk ...`: the command line."""
from .cli import main

main()
