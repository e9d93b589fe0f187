"""Japanese (polite です・ます form, as the readers' widget and Japanese sites address readers;
"名前" and "報告" as the widget words them)."""

# Letters of other alphabets, typographic quotes and full-width punctuation are the point here.
# ruff: noqa: RUF001

MESSAGES: dict[str, str] = {
    "form.invalid": "入力内容に誤りがあります。強調表示された項目を修正してください",
    "name.required": "名前を入力してください",
    "name.too_long": "名前が長すぎます（{max}文字以内）",
    "name.mixed_scripts": "名前の各単語は一種類の文字で書いてください（この名前では、"
    "たとえばラテン文字とギリシャ文字やキリル文字が混在しています）",
    "body.required": "コメントを入力してください",
    "body.too_long": "コメントが長すぎます（{max}文字以内）",
    "email.too_long": "メールアドレスが長すぎます（{max}文字以内）",
    "email.invalid": "有効なメールアドレスを入力してください",
    "url.too_long": "ウェブサイトのアドレスが長すぎます（{max}文字以内）",
    "url.spaces": "ウェブサイトのアドレスに空白や見えない文字は使えません",
    "url.invalid": "有効なウェブサイトのアドレスを入力してください",
    "url.scheme": "http:// または https:// で始まるウェブサイトのアドレスを入力してください",
    "url.credentials": "ウェブサイトのアドレスにユーザー名やパスワードは含められません",
    "report.text_required": "どこに問題があるかを書いてください。",
    "request.too_large": "リクエストが{limit}バイトを超えています",
    "name.taken": "この名前はすでに使われています",
    "name.taken_field": "ログイン中の読者がこの名前を使っています。別の名前を選んでください",
    "name.reserved": "この名前は予約されています",
    "name.reserved_author": "これは記事の筆者の名前です。別の名前を選んでください",
    "name.reserved_field": "この名前はこのサイトで予約されています。別の名前を選んでください",
    "name.words": "名前にこのサイトで使用できない言葉が含まれています",
    "name.choose_another": "別の名前を選んでください",
    "body.words": "コメントにこのサイトで使用できない言葉が含まれています",
    "body.remove_words": "次の言葉を削除してください：{words}",
    "ban.banned": "このサイトではコメントが禁止されています",
    "ban.suspended": "{until}までこのサイトではコメントできません",
    "rate.posts_address": "お使いのアドレスからのコメントが多すぎます。"
    "しばらくしてからもう一度お試しください",
    "rate.posts_thread": "この記事へのコメントが多すぎます。しばらくしてからもう一度お試しください",
    "rate.posts_site": "このサイトへのコメントが多すぎます。しばらくしてからもう一度お試しください",
    "rate.reactions_address": "お使いのアドレスからのリアクションが多すぎます。"
    "しばらくしてからもう一度お試しください",
    "rate.reactions_now": "現在リアクションが集中しています。少し待ってからもう一度お試しください",
    "rate.connections_new": "お使いのアドレスからの新しい接続が多すぎます",
    "rate.connections_open": "お使いのアドレスから開いている接続が多すぎます",
    "rate.author": "この名前でのこのサイトへの投稿が速すぎます。{seconds}秒お待ちください",
    "rate.address": "お使いのアドレスからのこのサイトへの投稿が速すぎます。"
    "{seconds}秒お待ちください",
    "thread.locked": "この記事へのコメントは締め切られました。",
    "comment.not_found": "該当するコメントはありません",
    "comment.parent_missing": "返信先のコメントはこのスレッドにありません",
    "comment.parent_missing_field": "返信先のコメントが存在しません",
    "comment.removed_no_edit": "このコメントは削除されたため、編集できません",
    "comment.author_only": "この操作ができるのは投稿者（編集トークンをお持ちの方）"
    "またはモデレーターだけです",
    "comment.edit_window": "コメントを変更できるのは投稿から{minutes}分以内です",
    "comment.report_published": "報告できるのは公開済みのコメントだけです",
    "comment.react_published": "リアクションできるのは公開済みのコメントだけです",
    "sign_in.expired": "ログインの有効期限が切れました。もう一度ログインしてください。",
    "sign_in.required": "コメントするにはログインしてください。",
    "mail.reply.subject": "「{title}」に新しい返信があります",
    "mail.reply.intro": "{author}さんが「{title}」でのあなたのコメントに返信しました：",
    "mail.reply.read": "返信を読む：{link}",
    "mail.reply.why": "このメールは、あなたがコメントへの返信の通知を"
    "希望されたためにお送りしています。",
    "mail.reply.stop": "今後このメールを受け取らない：{link}",
    "mail.confirm.subject": "{site}からの返信通知の確認",
    "mail.confirm.asked": "どなたかがこのメールアドレスで{site}にコメントを投稿し、"
    "返信があったときにメールで知らせるよう希望しました。",
    "mail.confirm.if_you": "ご本人の場合は、こちらからアドレスを確認すると"
    "通知メールが届くようになります：",
    "mail.confirm.if_not": "お心当たりがない場合は、このメールを無視してください。"
    "リンクが開かれない限り、このアドレスには何も送信されません。",
    "date.moment": "{year}年{month}{day}日 {time} UTC",
    "month.1": "1月",
    "month.2": "2月",
    "month.3": "3月",
    "month.4": "4月",
    "month.5": "5月",
    "month.6": "6月",
    "month.7": "7月",
    "month.8": "8月",
    "month.9": "9月",
    "month.10": "10月",
    "month.11": "11月",
    "month.12": "12月",
}
