"""`python -m dorms.allocation solve INSTANCE -o RESULT`: the solver without the web app."""
from .cli import allocation_cli

allocation_cli(prog_name="python -m dorms.allocation")
