"""German (informal "du", as the readers' widget addresses them: a product decision)."""

MESSAGES: dict[str, str] = {
    "form.invalid": "Bitte korrigiere die markierten Felder",
    "name.required": "Bitte gib hier deinen Namen ein",
    "name.too_long": "Dein Name ist zu lang (höchstens {max} Zeichen)",
    "name.mixed_scripts": "Bitte schreibe jedes Wort deines Namens in einem einzigen Alphabet "
    "(dieser Name mischt zum Beispiel lateinische mit griechischen oder kyrillischen Buchstaben)",
    "body.required": "Bitte schreibe einen Kommentar!",
    "body.too_long": "Dein Kommentar ist zu lang (höchstens {max} Zeichen)",
    "email.too_long": "Deine E-Mail-Adresse ist zu lang (höchstens {max} Zeichen)",
    "email.invalid": "Bitte gib eine gültige E-Mail-Adresse ein",
    "url.too_long": "Deine Website-Adresse ist zu lang (höchstens {max} Zeichen)",
    "url.spaces": "Eine Website-Adresse darf keine Leerzeichen oder unsichtbaren Zeichen enthalten",
    "url.invalid": "Bitte gib eine gültige Website-Adresse ein",
    "url.scheme": "Bitte gib eine Website-Adresse ein, die mit http:// oder https:// beginnt",
    "url.credentials": "Eine Website-Adresse darf keinen Benutzernamen und kein Passwort enthalten",
    "report.text_required": "Bitte beschreibe, was daran nicht stimmt.",
    "request.too_large": "Die Anfrage ist größer als {limit} Bytes",
    "name.taken": "Dieser Name ist bereits vergeben",
    "name.taken_field": "Ein angemeldeter Leser verwendet diesen Namen; bitte wähle einen anderen",
    "name.reserved": "Dieser Name ist reserviert",
    "name.reserved_author": "Das ist der Name des Autors dieses Artikels; bitte wähle einen "
    "anderen",
    "name.reserved_field": "Dieser Name ist auf dieser Website reserviert; bitte wähle einen "
    "anderen",
    "name.words": "Dein Name enthält Wörter, die auf dieser Website nicht erlaubt sind",
    "name.choose_another": "Bitte wähle einen anderen Namen",
    "body.words": "Dein Kommentar enthält Wörter, die auf dieser Website nicht erlaubt sind",
    "body.remove_words": "Bitte entferne: {words}",
    "ban.banned": "Du bist hier vom Kommentieren ausgeschlossen",
    "ban.suspended": "Du bist hier bis {until} vom Kommentieren gesperrt",
    "rate.posts_address": "Zu viele Kommentare von deiner Adresse; bitte versuche es gleich noch "
    "einmal",
    "rate.posts_thread": "Zu viele Kommentare zu diesem Artikel; bitte versuche es gleich noch "
    "einmal",
    "rate.posts_site": "Zu viele Kommentare auf dieser Website; bitte versuche es gleich noch "
    "einmal",
    "rate.reactions_address": "Zu viele Reaktionen von deiner Adresse; bitte versuche es gleich "
    "noch einmal",
    "rate.reactions_now": "Gerade gibt es zu viele Reaktionen; bitte versuche es gleich noch "
    "einmal",
    "rate.connections_new": "Zu viele neue Verbindungen von deiner Adresse",
    "rate.connections_open": "Zu viele offene Verbindungen von deiner Adresse",
    "rate.author": "Du schreibst unter diesem Namen zu schnell auf dieser Website; bitte warte "
    "{seconds} s",
    "rate.address": "Von deiner Adresse kommen zu schnell Kommentare auf dieser Website; bitte "
    "warte {seconds} s",
    "thread.locked": "Die Kommentare zu diesem Artikel sind geschlossen.",
    "comment.not_found": "Diesen Kommentar gibt es nicht",
    "comment.parent_missing": "Der Kommentar, auf den du antwortest, existiert in dieser "
    "Diskussion nicht",
    "comment.parent_missing_field": "Der Kommentar, auf den du antwortest, existiert nicht",
    "comment.removed_no_edit": "Dieser Kommentar wurde entfernt und kann nicht mehr bearbeitet "
    "werden",
    "comment.author_only": "Das darf nur der Autor (mit dem Bearbeitungsschlüssel) oder die "
    "Moderation",
    "comment.edit_window": "Kommentare können nur innerhalb von {minutes} Minuten nach dem "
    "Veröffentlichen geändert werden",
    "comment.report_published": "Nur veröffentlichte Kommentare können gemeldet werden",
    "comment.react_published": "Nur auf veröffentlichte Kommentare kann man reagieren",
    "sign_in.expired": "Deine Anmeldung ist abgelaufen: bitte erneut anmelden.",
    "sign_in.required": "Zum Kommentieren bitte anmelden.",
    "mail.reply.subject": "Neue Antwort zu „{title}“",
    "mail.reply.intro": "{author} hat auf deinen Kommentar zu „{title}“ geantwortet:",
    "mail.reply.read": "Zur Antwort: {link}",
    "mail.reply.why": "Du erhältst diese E-Mail, weil du über Antworten auf deinen Kommentar "
    "benachrichtigt werden wolltest.",
    "mail.reply.stop": "Diese E-Mails abbestellen: {link}",
    "mail.confirm.subject": "Benachrichtigungen über Antworten von {site} bestätigen",
    "mail.confirm.asked": "Jemand hat auf {site} mit dieser E-Mail-Adresse einen Kommentar "
    "hinterlassen und möchte per E-Mail erfahren, wenn jemand darauf antwortet.",
    "mail.confirm.if_you": "Wenn du das warst, bestätige diese Adresse, um diese E-Mails zu "
    "erhalten:",
    "mail.confirm.if_not": "Wenn du es nicht warst, ignoriere diese E-Mail: An diese Adresse wird "
    "nichts gesendet, solange niemand den Link aufruft.",
    "date.moment": "{day}. {month} {year}, {time} UTC",
    "month.1": "Januar",
    "month.2": "Februar",
    "month.3": "März",
    "month.4": "April",
    "month.5": "Mai",
    "month.6": "Juni",
    "month.7": "Juli",
    "month.8": "August",
    "month.9": "September",
    "month.10": "Oktober",
    "month.11": "November",
    "month.12": "Dezember",
}
