"""Assembly and runtime: settings, the service container, the application, the runner and its
workers, python-telegram-bot plumbing, and the command line with its operator commands."""
