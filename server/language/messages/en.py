"""English: every key, and the exact texts the server has always answered with."""

MESSAGES: dict[str, str] = {
    # The comment form (server/validation.py, server/names.py, server/render.py).
    "form.invalid": "Please correct the highlighted fields",
    "name.required": "Please enter your name here",
    "name.too_long": "Your name is too long ({max} characters at most)",
    "name.mixed_scripts": "Please write each word of your name in one alphabet (this one mixes, "
    "for example, Latin with Greek or Cyrillic letters)",
    "body.required": "Please enter your comment!",
    "body.too_long": "Your comment is too long ({max} characters at most)",
    "email.too_long": "Your email address is too long ({max} characters at most)",
    "email.invalid": "Please enter a valid email address",
    "url.too_long": "Your website address is too long ({max} characters at most)",
    "url.spaces": "A website address cannot contain spaces or invisible characters",
    "url.invalid": "Please enter a valid website address",
    "url.scheme": "Please enter a website address starting with http:// or https://",
    "url.credentials": "A website address cannot contain a user name or password",
    "report.text_required": "Please say what is wrong",
    "request.too_large": "Request body over {limit} bytes",
    # Names the site keeps for others (server/threads/authors.py, server/moderation/automod.py).
    "name.taken": "This name is taken",
    "name.taken_field": "A signed-in reader goes by this name; please choose another",
    "name.reserved": "This name is reserved",
    "name.reserved_author": "This is the article's author's name; please choose another",
    "name.reserved_field": "This name is reserved on this site; please choose another",
    "name.words": "Your name contains words this site does not allow",
    "name.choose_another": "Please choose another name",
    "body.words": "Your comment contains words this site does not allow",
    "body.remove_words": "Please remove: {words}",
    # Bans (server/moderation/bans.py).
    "ban.banned": "You are banned from commenting here",
    "ban.suspended": "You are suspended from commenting here until {until}",
    # Rate limits (server/web/guard.py, server/moderation/automod.py, server/reactions/).
    "rate.posts_address": "Too many comments from your address; try again shortly",
    "rate.posts_thread": "Too many comments on this article; try again shortly",
    "rate.posts_site": "Too many comments on this site; try again shortly",
    "rate.reactions_address": "Too many reactions from your address; try again shortly",
    "rate.reactions_now": "Too many reactions right now; try again in a moment",
    "rate.connections_new": "Too many new connections from your address",
    "rate.connections_open": "Too many open connections from your address",
    "rate.author": "You are posting too fast under this name on this site; "
    "please wait {seconds} seconds",
    "rate.address": "You are posting too fast from your address on this site; "
    "please wait {seconds} seconds",
    # Threads and comments (server/threads/, server/reactions/).
    "thread.locked": "This thread is locked: new comments are closed",
    "comment.not_found": "No such comment",
    "comment.parent_missing": "The comment you are replying to does not exist in this thread",
    "comment.parent_missing_field": "The comment you are replying to does not exist",
    "comment.removed_no_edit": "This comment was removed and can no longer be edited",
    "comment.author_only": "Only the author (with the edit token) or a moderator may do this",
    "comment.edit_window": "Comments can be changed only within {minutes} minutes of posting",
    "comment.report_published": "Only a published comment can be reported",
    "comment.react_published": "Only a published comment takes reactions",
    # Signing in (server/accounts/tokens.py, server/threads/authors.py).
    "sign_in.expired": "The sign-in token has expired: sign in again",
    "sign_in.required": "Sign in to comment on this site",
    # The reply mail (workers/notifications/worker.py).
    "mail.reply.subject": "New reply on {title}",
    "mail.reply.intro": "{author} replied to your comment on {title}:",
    "mail.reply.read": "Read it: {link}",
    "mail.reply.why": "You get this mail because you asked to be notified of replies to your "
    "comment.",
    "mail.reply.stop": "Stop these mails: {link}",
    # The confirmation mail (workers/notifications/confirmations.py).
    "mail.confirm.subject": "Confirm reply notifications from {site}",
    "mail.confirm.asked": "Someone left a comment on {site} with this email address and asked "
    "to be emailed when somebody replies.",
    "mail.confirm.if_you": "If that was you, confirm this address to get those emails:",
    "mail.confirm.if_not": "If it was not you, ignore this mail: nothing will be sent to this "
    "address unless the link is followed.",
    # Dates (server/language/dates.py): "5 Dec 2026, 14:30 UTC".
    "date.moment": "{day} {month} {year}, {time} UTC",
    "month.1": "Jan",
    "month.2": "Feb",
    "month.3": "Mar",
    "month.4": "Apr",
    "month.5": "May",
    "month.6": "Jun",
    "month.7": "Jul",
    "month.8": "Aug",
    "month.9": "Sep",
    "month.10": "Oct",
    "month.11": "Nov",
    "month.12": "Dec",
}
