"""The deploy rehearsal's parts; infra/local/rehearse.py runs them (see its docstring)."""
