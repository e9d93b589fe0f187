"""Spanish (tú, as the readers' widget and most Spanish-language sites address readers)."""

MESSAGES: dict[str, str] = {
    "form.invalid": "Corrige los campos marcados",
    "name.required": "Escribe aquí tu nombre",
    "name.too_long": "Tu nombre es demasiado largo (máximo {max} caracteres)",
    "name.mixed_scripts": "Escribe cada palabra de tu nombre en un solo alfabeto (este mezcla, "
    "por ejemplo, letras latinas con griegas o cirílicas)",
    "body.required": "¡Escribe tu comentario!",
    "body.too_long": "Tu comentario es demasiado largo (máximo {max} caracteres)",
    "email.too_long": "Tu correo electrónico es demasiado largo (máximo {max} caracteres)",
    "email.invalid": "Escribe un correo electrónico válido",
    "url.too_long": "La dirección de tu sitio web es demasiado larga (máximo {max} caracteres)",
    "url.spaces": "La dirección de un sitio web no puede contener espacios ni caracteres "
    "invisibles",
    "url.invalid": "Escribe una dirección de sitio web válida",
    "url.scheme": "Escribe una dirección de sitio web que empiece por http:// o https://",
    "url.credentials": "La dirección de un sitio web no puede contener un usuario ni una "
    "contraseña",
    "report.text_required": "Explica qué problema tiene.",
    "request.too_large": "La solicitud supera los {limit} bytes",
    "name.taken": "Este nombre ya está en uso",
    "name.taken_field": "Un lector con sesión iniciada usa este nombre; elige otro",
    "name.reserved": "Este nombre está reservado",
    "name.reserved_author": "Es el nombre del autor del artículo; elige otro",
    "name.reserved_field": "Este nombre está reservado en este sitio; elige otro",
    "name.words": "Tu nombre contiene palabras que este sitio no permite",
    "name.choose_another": "Elige otro nombre",
    "body.words": "Tu comentario contiene palabras que este sitio no permite",
    "body.remove_words": "Quita lo siguiente: {words}",
    "ban.banned": "No puedes comentar aquí",
    "ban.suspended": "Se te ha suspendido la posibilidad de comentar aquí hasta el {until}",
    "rate.posts_address": "Demasiados comentarios desde tu dirección; vuelve a intentarlo en "
    "unos instantes",
    "rate.posts_thread": "Demasiados comentarios en este artículo; vuelve a intentarlo en unos "
    "instantes",
    "rate.posts_site": "Demasiados comentarios en este sitio; vuelve a intentarlo en unos "
    "instantes",
    "rate.reactions_address": "Demasiadas reacciones desde tu dirección; vuelve a intentarlo en "
    "unos instantes",
    "rate.reactions_now": "Hay demasiadas reacciones en este momento; vuelve a intentarlo en "
    "un momento",
    "rate.connections_new": "Demasiadas conexiones nuevas desde tu dirección",
    "rate.connections_open": "Demasiadas conexiones abiertas desde tu dirección",
    "rate.author": "Estás publicando demasiado rápido con este nombre en este sitio; espera "
    "{seconds} s",
    "rate.address": "Estás publicando demasiado rápido desde tu dirección en este sitio; espera "
    "{seconds} s",
    "thread.locked": "Los comentarios de este artículo están cerrados.",
    "comment.not_found": "Este comentario no existe",
    "comment.parent_missing": "El comentario al que respondes no existe en esta conversación",
    "comment.parent_missing_field": "El comentario al que respondes no existe",
    "comment.removed_no_edit": "Este comentario se eliminó y ya no se puede editar",
    "comment.author_only": "Solo el autor (con el token de edición) o un moderador puede hacer "
    "esto",
    "comment.edit_window": "Los comentarios solo se pueden modificar durante los {minutes} "
    "minutos siguientes a su publicación",
    "comment.report_published": "Solo se puede denunciar un comentario publicado",
    "comment.react_published": "Solo se puede reaccionar a un comentario publicado",
    "sign_in.expired": "Tu sesión ha caducado: vuelve a iniciar sesión.",
    "sign_in.required": "Inicia sesión para comentar.",
    "mail.reply.subject": "Nueva respuesta en «{title}»",
    "mail.reply.intro": "{author} ha respondido a tu comentario en «{title}»:",
    "mail.reply.read": "Léela aquí: {link}",
    "mail.reply.why": "Recibes este correo porque pediste que te avisáramos de las respuestas a "
    "tu comentario.",
    "mail.reply.stop": "Dejar de recibir estos correos: {link}",
    "mail.confirm.subject": "Confirma los avisos de respuestas de {site}",
    "mail.confirm.asked": "Alguien dejó un comentario en {site} con esta dirección de correo y "
    "pidió recibir un aviso por correo cuando alguien responda.",
    "mail.confirm.if_you": "Si fuiste tú, confirma esta dirección para recibir esos correos:",
    "mail.confirm.if_not": "Si no fuiste tú, ignora este correo: no se enviará nada a esta "
    "dirección a menos que alguien abra el enlace.",
    "date.moment": "{day} de {month} de {year}, {time} UTC",
    "month.1": "enero",
    "month.2": "febrero",
    "month.3": "marzo",
    "month.4": "abril",
    "month.5": "mayo",
    "month.6": "junio",
    "month.7": "julio",
    "month.8": "agosto",
    "month.9": "septiembre",
    "month.10": "octubre",
    "month.11": "noviembre",
    "month.12": "diciembre",
}
