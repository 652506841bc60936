"""Local, stateful stand-ins for Salesforce, Jira, Intercom, Jotform and Slack.

The sandbox imports nothing from Baton's flows/, tasks/ or clients/: it models the
vendors, it does not know Baton. See docs/sandbox.md for what each stand-in supports.
"""
