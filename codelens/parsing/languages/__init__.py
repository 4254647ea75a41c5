"""One module per language, each defining ``SPEC``; collected by ``codelens.parsing.registry``."""
