"""French (vouvoiement, as the readers' widget addresses them; its typography too:
typographic apostrophes, a no-break space before : ; ! ? and inside « »)."""

# Typographic apostrophes are the point here.
# ruff: noqa: RUF001

MESSAGES: dict[str, str] = {
    "form.invalid": "Veuillez corriger les champs signalés",
    "name.required": "Veuillez indiquer votre nom ici",
    "name.too_long": "Votre nom est trop long ({max} caractères au maximum)",
    "name.mixed_scripts": "Veuillez écrire chaque mot de votre nom dans un seul alphabet "
    "(celui-ci mélange par exemple des lettres latines avec des lettres grecques ou cyrilliques)",
    "body.required": "Veuillez écrire votre commentaire\u00a0!",
    "body.too_long": "Votre commentaire est trop long ({max} caractères au maximum)",
    "email.too_long": "Votre adresse e-mail est trop longue ({max} caractères au maximum)",
    "email.invalid": "Veuillez saisir une adresse e-mail valide",
    "url.too_long": "L’adresse de votre site web est trop longue ({max} caractères au maximum)",
    "url.spaces": "L’adresse d’un site web ne peut contenir ni espaces ni caractères invisibles",
    "url.invalid": "Veuillez saisir une adresse de site web valide",
    "url.scheme": "Veuillez saisir une adresse de site web commençant par http:// ou https://",
    "url.credentials": "L’adresse d’un site web ne peut contenir ni nom d’utilisateur ni mot de "
    "passe",
    "report.text_required": "Veuillez préciser le problème.",
    "request.too_large": "La requête dépasse {limit} octets",
    "name.taken": "Ce nom est déjà pris",
    "name.taken_field": "Un lecteur connecté utilise ce nom\u00a0; veuillez en choisir un autre",
    "name.reserved": "Ce nom est réservé",
    "name.reserved_author": "C’est le nom de l’auteur de l’article\u00a0; veuillez en choisir un "
    "autre",
    "name.reserved_field": "Ce nom est réservé sur ce site\u00a0; veuillez en choisir un autre",
    "name.words": "Votre nom contient des mots que ce site n’autorise pas",
    "name.choose_another": "Veuillez choisir un autre nom",
    "body.words": "Votre commentaire contient des mots que ce site n’autorise pas",
    "body.remove_words": "Veuillez retirer\u00a0: {words}",
    "ban.banned": "Vous n’êtes pas autorisé à commenter ici",
    "ban.suspended": "Vous ne pouvez plus commenter ici jusqu’au {until}",
    "rate.posts_address": "Trop de commentaires depuis votre adresse\u00a0; réessayez dans un "
    "instant",
    "rate.posts_thread": "Trop de commentaires sur cet article\u00a0; réessayez dans un instant",
    "rate.posts_site": "Trop de commentaires sur ce site\u00a0; réessayez dans un instant",
    "rate.reactions_address": "Trop de réactions depuis votre adresse\u00a0; réessayez dans un "
    "instant",
    "rate.reactions_now": "Trop de réactions en ce moment\u00a0; réessayez dans un instant",
    "rate.connections_new": "Trop de nouvelles connexions depuis votre adresse",
    "rate.connections_open": "Trop de connexions ouvertes depuis votre adresse",
    "rate.author": "Vous publiez trop vite sous ce nom sur ce site\u00a0; veuillez patienter "
    "{seconds} s",
    "rate.address": "Vous publiez trop vite depuis votre adresse sur ce site\u00a0; veuillez "
    "patienter {seconds} s",
    "thread.locked": "Les commentaires sont fermés pour cet article.",
    "comment.not_found": "Ce commentaire n’existe pas",
    "comment.parent_missing": "Le commentaire auquel vous répondez n’existe pas dans cette "
    "discussion",
    "comment.parent_missing_field": "Le commentaire auquel vous répondez n’existe pas",
    "comment.removed_no_edit": "Ce commentaire a été supprimé et ne peut plus être modifié",
    "comment.author_only": "Seul l’auteur (avec le jeton de modification) ou un modérateur peut "
    "faire cela",
    "comment.edit_window": "Un commentaire ne peut être modifié que dans les {minutes} minutes "
    "qui suivent sa publication",
    "comment.report_published": "Seul un commentaire publié peut être signalé",
    "comment.react_published": "Seul un commentaire publié peut recevoir des réactions",
    "sign_in.expired": "Votre session a expiré\u00a0: veuillez vous reconnecter.",
    "sign_in.required": "Connectez-vous pour commenter.",
    "mail.reply.subject": "Nouvelle réponse sur «\u00a0{title}\u00a0»",
    "mail.reply.intro": "{author} a répondu à votre commentaire sur «\u00a0{title}\u00a0»\u00a0:",
    "mail.reply.read": "Lire la réponse\u00a0: {link}",
    "mail.reply.why": "Vous recevez ce message parce que vous avez demandé à être averti des "
    "réponses à votre commentaire.",
    "mail.reply.stop": "Ne plus recevoir ces messages\u00a0: {link}",
    "mail.confirm.subject": "Confirmez les notifications de réponses de {site}",
    "mail.confirm.asked": "Quelqu’un a laissé un commentaire sur {site} avec cette adresse e-mail "
    "et a demandé à être prévenu par e-mail lorsque quelqu’un y répond.",
    "mail.confirm.if_you": "Si c’était vous, confirmez cette adresse pour recevoir ces "
    "e-mails\u00a0:",
    "mail.confirm.if_not": "Si ce n’était pas vous, ignorez ce message\u00a0: rien ne sera envoyé "
    "à cette adresse tant que le lien n’aura pas été ouvert.",
    "date.moment": "{day} {month} {year} à {time} UTC",
    "month.1": "janvier",
    "month.2": "février",
    "month.3": "mars",
    "month.4": "avril",
    "month.5": "mai",
    "month.6": "juin",
    "month.7": "juillet",
    "month.8": "août",
    "month.9": "septembre",
    "month.10": "octobre",
    "month.11": "novembre",
    "month.12": "décembre",
}
