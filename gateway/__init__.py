"""The small web service people and webhooks reach: Slack interactivity, OAuth, secret deposit, offboarding."""
