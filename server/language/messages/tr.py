"""Turkish (polite "siz", as the readers' widget and Turkish sites address readers)."""

# Letters of other alphabets, typographic quotes and full-width punctuation are the point here.
# ruff: noqa: RUF001

MESSAGES: dict[str, str] = {
    "form.invalid": "Lütfen işaretli alanları düzeltin",
    "name.required": "Lütfen adınızı buraya yazın",
    "name.too_long": "Adınız çok uzun (en fazla {max} karakter)",
    "name.mixed_scripts": "Lütfen adınızdaki her kelimeyi tek bir alfabeyle yazın (bu ad, "
    "örneğin Latin harflerini Yunan veya Kiril harfleriyle karıştırıyor)",
    "body.required": "Lütfen yorumunuzu yazın!",
    "body.too_long": "Yorumunuz çok uzun (en fazla {max} karakter)",
    "email.too_long": "E-posta adresiniz çok uzun (en fazla {max} karakter)",
    "email.invalid": "Lütfen geçerli bir e-posta adresi girin",
    "url.too_long": "Web sitenizin adresi çok uzun (en fazla {max} karakter)",
    "url.spaces": "Web sitesi adresi boşluk veya görünmeyen karakter içeremez",
    "url.invalid": "Lütfen geçerli bir web sitesi adresi girin",
    "url.scheme": "Lütfen http:// veya https:// ile başlayan bir web sitesi adresi girin",
    "url.credentials": "Web sitesi adresi kullanıcı adı veya parola içeremez",
    "report.text_required": "Lütfen sorunun ne olduğunu yazın.",
    "request.too_large": "İstek {limit} baytı aşıyor",
    "name.taken": "Bu ad zaten kullanılıyor",
    "name.taken_field": "Oturum açmış bir okur bu adı kullanıyor; lütfen başka bir ad seçin",
    "name.reserved": "Bu ad ayrılmış",
    "name.reserved_author": "Bu, makalenin yazarının adı; lütfen başka bir ad seçin",
    "name.reserved_field": "Bu ad bu sitede ayrılmış; lütfen başka bir ad seçin",
    "name.words": "Adınız bu sitenin izin vermediği kelimeler içeriyor",
    "name.choose_another": "Lütfen başka bir ad seçin",
    "body.words": "Yorumunuz bu sitenin izin vermediği kelimeler içeriyor",
    "body.remove_words": "Lütfen şunları çıkarın: {words}",
    "ban.banned": "Burada yorum yapmanız yasaklandı",
    "ban.suspended": "{until} tarihine kadar burada yorum yapamazsınız",
    "rate.posts_address": "Adresinizden çok fazla yorum geldi; lütfen biraz sonra tekrar deneyin",
    "rate.posts_thread": "Bu makaleye çok fazla yorum geldi; lütfen biraz sonra tekrar deneyin",
    "rate.posts_site": "Bu siteye çok fazla yorum geldi; lütfen biraz sonra tekrar deneyin",
    "rate.reactions_address": "Adresinizden çok fazla tepki geldi; lütfen biraz sonra tekrar "
    "deneyin",
    "rate.reactions_now": "Şu anda çok fazla tepki var; lütfen birazdan tekrar deneyin",
    "rate.connections_new": "Adresinizden çok fazla yeni bağlantı var",
    "rate.connections_open": "Adresinizden çok fazla açık bağlantı var",
    "rate.author": "Bu sitede bu adla çok hızlı yorum yapıyorsunuz; lütfen {seconds} saniye "
    "bekleyin",
    "rate.address": "Bu sitede adresinizden çok hızlı yorum yapılıyor; lütfen {seconds} saniye "
    "bekleyin",
    "thread.locked": "Bu makale yorumlara kapatıldı.",
    "comment.not_found": "Böyle bir yorum yok",
    "comment.parent_missing": "Yanıtladığınız yorum bu tartışmada yok",
    "comment.parent_missing_field": "Yanıtladığınız yorum yok",
    "comment.removed_no_edit": "Bu yorum kaldırıldı ve artık düzenlenemez",
    "comment.author_only": "Bunu yalnızca yazar (düzenleme anahtarıyla) veya bir moderatör "
    "yapabilir",
    "comment.edit_window": "Yorumlar yalnızca yayımlandıktan sonraki {minutes} dakika içinde "
    "değiştirilebilir",
    "comment.report_published": "Yalnızca yayımlanmış bir yorum bildirilebilir",
    "comment.react_published": "Yalnızca yayımlanmış bir yoruma tepki verilebilir",
    "sign_in.expired": "Oturumunuzun süresi doldu: lütfen yeniden oturum açın.",
    "sign_in.required": "Yorum yapmak için oturum açın.",
    "mail.reply.subject": "“{title}” başlıklı yazıda yeni yanıt",
    "mail.reply.intro": "{author}, “{title}” başlıklı yazıdaki yorumunuzu yanıtladı:",
    "mail.reply.read": "Yanıtı okuyun: {link}",
    "mail.reply.why": "Bu e-postayı, yorumunuza gelen yanıtlardan haberdar edilmek istediğiniz "
    "için alıyorsunuz.",
    "mail.reply.stop": "Bu e-postaları artık almamak için: {link}",
    "mail.confirm.subject": "{site} yanıt bildirimlerini onaylayın",
    "mail.confirm.asked": "Birisi {site} sitesinde bu e-posta adresiyle yorum bıraktı ve biri "
    "yanıt verdiğinde e-postayla haber verilmesini istedi.",
    "mail.confirm.if_you": "Bu siz idiyseniz, bu e-postaları almak için adresinizi onaylayın:",
    "mail.confirm.if_not": "Siz değilseniz bu e-postayı dikkate almayın: bağlantı açılmadıkça bu "
    "adrese hiçbir şey gönderilmeyecek.",
    "date.moment": "{day} {month} {year} {time} UTC",
    "month.1": "Ocak",
    "month.2": "Şubat",
    "month.3": "Mart",
    "month.4": "Nisan",
    "month.5": "Mayıs",
    "month.6": "Haziran",
    "month.7": "Temmuz",
    "month.8": "Ağustos",
    "month.9": "Eylül",
    "month.10": "Ekim",
    "month.11": "Kasım",
    "month.12": "Aralık",
}
