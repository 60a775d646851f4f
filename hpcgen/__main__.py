from hpcgen.cli import entry

entry()
