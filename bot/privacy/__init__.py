"""Data protection (issue 19): the retention schedule and its daily purge, legal hold, subject
access export, erasure and rectification, and the access review. Only bot.core below it."""
