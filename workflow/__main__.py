from workflow.cli import entry

entry()
