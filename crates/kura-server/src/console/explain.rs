//! The explanations that services, the store and domain rules give in English (problem details
//! of the API), as the consoles show them: in the reader's language, in the consoles' words
//! ("tenant ID", never "slug").
//!
//! Each entry is the message's template as written in the source, `{}` standing for each
//! formatted part, with its English and Japanese wording. A wording may repeat a `{}` to show
//! the part of the message it stands for, in order. A test reads the sources and fails when a
//! message has no entry here, so no explanation reaches a page in raw English.

use super::i18n::Lang;

macro_rules! explanations {
    ($($template:literal => $en:literal, $ja:literal;)*) => {
        /// (template, English, Japanese)
        pub const EXPLANATIONS: &[(&str, &str, &str)] = &[$(($template, $en, $ja),)*];
    };
}

explanations! {
    // Names and other values parsed by the domain.
    "invalid contract: {}" => "The contract end date is before its start date.", "契約終了日が契約開始日より前になっています。";
    "invalid email: {}" => "Enter an email address such as taro@example.jp.", "メールアドレスの形式が正しくありません（例：taro@example.jp）。";
    "invalid name: {}" => "Use 1–63 lowercase letters, digits and underscores, starting with a letter.", "半角英小文字・数字・アンダースコア（_）の1〜63文字で、英字から始めてください。";
    "invalid permission: {}" => "One of the permissions does not exist.", "存在しない権限が指定されています。";
    "invalid slug: {}" => "Use 2–40 lowercase letters, digits and single hyphens for the tenant ID, starting with a letter.", "テナントIDは半角英小文字・数字・ハイフンの2〜40文字で、英字から始めてください。";
    "invalid time zone: {}" => "Choose a time zone from the list.", "タイムゾーンを一覧から選んでください。";
    // Why a field definition was refused (shown beside the field).
    "file must be the file's bytes in base64" => "The file could not be read. Choose it again.", "ファイルを読み取れませんでした。もう一度選んでください。";
    "the file is larger than the limit of {} bytes" => "The file is larger than the limit of {} bytes. Split it into smaller files.", "ファイルが上限（{}バイト）を超えています。複数のファイルに分けてください。";
    "the file is not a text file (an Excel workbook or archive?); save it as CSV first" => "This is not a text file (an Excel workbook or a ZIP archive?). Save it as CSV in Excel first.", "テキストファイルではありません（Excelのブックや圧縮ファイルではありませんか）。Excelで「CSV」形式で保存してから選んでください。";
    "the file is not valid {} text" => "The file is not valid {} text. Choose the file's encoding, or save it again as CSV UTF-8.", "ファイルが{}の文字コードとして正しくありません。文字コードを選び直すか、「CSV UTF-8」で保存し直してください。";
    // Bulk changes of records (DAT-6).
    "the selection now holds {} records, not the {} confirmed; nothing was changed, review it again" => "The selection now holds {} records, not the {} you confirmed. Nothing was changed: check the selection again.", "対象のレコードは現在{}件で、確認した{}件と異なります。何も変更していません。対象を確認し直してください。";
    "a bulk operation changes at most {} records and this selection holds {}; narrow the filter and repeat" => "A bulk operation changes at most {} records at a time, and this selection holds {}. Narrow the filter and repeat.", "一括操作で一度に変更できるのは{}件までですが、対象は{}件あります。条件を絞り込んで、複数回に分けて実行してください。";
    // Exports built in the background (DAT-5).
    "support access is read-only; it cannot start an export" => "Support access is read-only: it cannot start an export.", "サポート用のアクセスは閲覧のみのため、エクスポートを開始できません。";
    "an archive holds the whole tenant: collection, format and header apply to a collection's export only" => "The whole-tenant file takes no collection, format or header row choice.", "全データのファイルでは、コレクション・形式・見出し行は指定できません。";
    "name the collection to export in `collection`" => "Choose the collection to export.", "エクスポートするコレクションを選んでください。";
    "{} of your exports are still being built; wait for one to finish before starting another" => "{} of your exports are still being prepared. Wait for one to finish before starting another.", "作成中のエクスポートが{}件あります。どれかが終わってから、次のエクスポートを開始してください。";
    "only the person who started an export can download it" => "Only the person who started an export can download it.", "エクスポートのファイルをダウンロードできるのは、開始した本人だけです。";
    "the export is not ready yet; its page shows how far it got" => "The file is not ready yet. Its page shows how far it got.", "ファイルはまだできていません。進み具合はエクスポートのページで確認できます。";
    "the export failed; its page says why. Start it again." => "The export failed. Its page says why; start it again.", "エクスポートに失敗しました。理由をエクスポートのページで確認し、もう一度開始してください。";
    "the file was downloaded already and deleted; start the export again" => "The file was downloaded already and has been deleted. Start the export again to get a new one.", "このファイルはダウンロード済みのため、削除されました。必要な場合は、もう一度エクスポートを開始してください。";
    "the download link expired and the file was deleted; start the export again" => "The download link has expired and the file has been deleted. Start the export again to get a new one.", "ダウンロードの期限が過ぎたため、ファイルは削除されました。必要な場合は、もう一度エクスポートを開始してください。";
    "the download link is not valid" => "This download link is not valid. Open the export from the browser that started it.", "このダウンロードリンクは無効です。エクスポートを開始したブラウザーから開いてください。";
    "{} who started the export can no longer use Kura" => "The person or API key that started the export can no longer use Kura, so the file was not made.", "エクスポートを開始したユーザーまたはAPIキーが利用できなくなったため、ファイルは作成されませんでした。";
    "set names no field to change" => "Choose a field to change.", "変更する項目を選んでください。";
    "records of the selection changed or disappeared after they were chosen; nothing was changed, review the selection again" => "Some of the selected records were changed or deleted by someone else meanwhile. Nothing was changed: check the selection again.", "対象のレコードの一部が、その間に他の人によって変更または削除されました。何も変更していません。対象を確認し直してください。";
    "the key field {} is not a field of this collection" => "The key field {} is not a field of this collection.", "キー項目「{}」はこのコレクションにありません。";
    "a certificate with this serial or fingerprint already exists" => "A certificate with this serial number already exists. Issue it again.", "同じシリアル番号の証明書がすでにあります。もう一度発行してください。";
    "between 1 and {} days (two years)" => "Choose a validity between 1 and {} days (two years).", "有効期間は1〜{}日（2年）の範囲で指定してください。";
    "name the user or device in 1 to 100 characters" => "Name the user or device in 1 to 100 characters.", "利用者または端末の名前を1〜100文字で入力してください。";
    "sign-in to the {}: {}; serial {}" => "Sign-in to the {} was refused: {} (serial {}).", "{}へのログインを拒否しました：{}（シリアル番号 {}）。";
    "upsert needs a key field" => "Choose the key field that identifies a record for updating.", "更新に使うキー項目を選んでください。";
    "the file has no column for the key field {}" => "The file has no column for the key field {}.", "ファイルにキー項目「{}」の列がありません。";
    "the key value is also on line {}" => "The same key value is also on line {}.", "同じキーの値が{}行目にもあります。";
    "the mapping names a column the file does not have: {}" => "The file has no column {}.", "ファイルに列「{}」がありません。";
    "the mapping names a field that does not exist: {}" => "The field {} does not exist.", "項目「{}」は存在しません。";
    "two columns map to the field {}: {} and {}; correct the mapping" => "Two columns fill the field {}: {} and {}. Correct the mapping.", "2つの列が同じ項目「{}」に対応しています（{}と{}）。対応づけを修正してください。";
    "the file has no column for the required field {} ({})" => "The file has no column for the required field {} ({}).", "ファイルに必須項目「{}」（{}）の列がありません。";
    "the row cannot be read: {}" => "The row cannot be read as CSV.", "この行はCSVとして読み取れません。";
    "the line is not a JSON object" => "The line is not a JSON object ({ … }).", "この行はJSONのオブジェクト（{ … }）ではありません。";
    "the line is not valid JSON: {}" => "The line is not valid JSON.", "この行はJSONとして正しくありません。";
    "the file has no valid rows to import" => "The file has no valid rows to import.", "インポートできる正しい行がありません。";
    "the record of line {} changed while the file was imported; import it again" => "The record of line {} was changed by someone else during the import. Import the file again.", "{}行目のレコードがインポート中に他の人に変更されました。もう一度インポートしてください。";
    "{} holds personal information; importing into this collection requires pii.read" => "This collection holds personal information ({}): importing into it requires the permission to read personal information.", "このコレクションには個人情報（{}）があるため、インポートには個人情報の閲覧権限が必要です。";
    "cannot be written in Shift_JIS: {} (U+{})" => "The character {} cannot be written in Shift_JIS. Export in UTF-8 instead, or change the value.", "文字「{}」はShift_JISで書き出せません。UTF-8で書き出すか、値を修正してください。";
    "a choice field needs between 1 and 200 choices" => "Enter 1 to 200 choices.", "選択肢は1〜200個で入力してください。";
    "a choice label names a value that is not a choice" => "A display name is given for a value that is not one of the choices.", "選択肢にない値に表示名が指定されています。";
    "at most {} fields" => "A collection can have at most {} fields.", "1つのコレクションに作成できる項目は{}個までです。";
    "choice labels must be non-empty and at most 200 characters" => "Display names of choices must be 1 to 200 characters.", "選択肢の表示名は1〜200文字で入力してください。";
    "choices must be distinct, non-empty and at most 200 characters" => "Choices must be different from each other and 1 to 200 characters each.", "選択肢は重複なしで、それぞれ1〜200文字で入力してください。";
    "control characters are not allowed" => "The value contains characters that cannot be used.", "使用できない文字が含まれています。";
    "duplicate warnings apply only to one-line text, email and phone fields" => "Duplicate warnings can be used with one-line text, email and phone fields only.", "重複の警告は、1行テキスト・メールアドレス・電話番号の項目でのみ使えます。";
    "length, character and pattern rules apply only to text fields" => "Length, character and pattern rules can be used with text fields only.", "文字数・文字種・形式のルールは、テキスト系の項目でのみ使えます。";
    "minimum and maximum apply only to number fields" => "A minimum and maximum can be used with number fields only.", "最小値・最大値は、数値の項目でのみ使えます。";
    "only choice fields have choices" => "Only choice fields have choices.", "選択肢を設定できるのは「選択肢」の項目だけです。";
    "the contract end is before its start" => "The contract end date is before its start date.", "契約終了日が契約開始日より前になっています。";
    "the maximum length must be between 1 and 10000" => "Enter a maximum length from 1 to 10000.", "最大文字数は1〜10000で入力してください。";
    "the memo is longer than 2000 characters" => "Enter a memo of at most 2000 characters.", "メモは2000文字以内で入力してください。";
    "the minimum and maximum must be finite numbers" => "Enter the minimum and maximum as numbers.", "最小値と最大値は数値で入力してください。";
    "the minimum is above the maximum" => "The minimum is larger than the maximum.", "最小値が最大値を上回っています。";
    "the minimum length is above the maximum length" => "The minimum length is larger than the maximum length.", "最小文字数が最大文字数を上回っています。";
    "this name is reserved" => "This ID is reserved. Choose another.", "このIDは予約されているため使用できません。";
    // Duplicates and conflicts found by the store.
    "a collection with this name already exists" => "This collection ID is already in use.", "このコレクションIDはすでに使われています。";
    "a record with this id already exists" => "A record with this ID already exists.", "同じIDのレコードがすでに存在します。";
    "a role with this key already exists" => "This role ID is already in use.", "このロールIDはすでに使われています。";
    "a tenant with this slug already exists" => "This tenant ID is already in use.", "このテナントIDはすでに使われています。";
    "another process made a backup key at the same moment: try again" => "Another backup key was being made at the same moment, so this one was not. Please try again.", "同じ時刻に別のバックアップ鍵が作成されていたため、作成しませんでした。もう一度お試しください。";
    "this tenant already has keys" => "Encryption keys for this tenant already exist, so it was not opened. Please try again.", "このテナントの暗号鍵がすでに存在するため、開設できませんでした。もう一度お試しください。";
    "a user with this email already exists" => "A user with this email address already exists.", "このメールアドレスのユーザーはすでに登録されています。";
    "an API key with this secret already exists" => "The key could not be issued. Please try again.", "APIキーを発行できませんでした。もう一度お試しください。";
    "an operator with this email already exists" => "An operator with this email address already exists.", "このメールアドレスの運用者はすでに登録されています。";
    "built-in roles cannot be changed" => "Built-in roles cannot be changed.", "標準ロールは変更できません。";
    "built-in roles cannot be changed; create a custom role instead" => "Built-in roles cannot be changed. Create a custom role instead.", "標準ロールは変更できません。必要な場合はロールを新しく作成してください。";
    "built-in roles cannot be deleted" => "Built-in roles cannot be deleted.", "標準ロールは削除できません。";
    "the record was changed by someone else; reload and try again" => "Someone else changed this record in the meantime. Reload it and try again.", "他のユーザーがこのレコードを変更しました。再読み込みしてからもう一度お試しください。";
    "this role is still assigned to users" => "This role is assigned to users and cannot be deleted.", "このロールは使用中のユーザーがいるため削除できません。";
    "this role is still assigned to {} user(s)" => "This role is assigned to {} user(s) and cannot be deleted.", "このロールは{}人のユーザーに割り当てられているため削除できません。";
    "this role is still used by {} API key(s)" => "This role is used by {} active API key(s) and cannot be deleted.", "このロールは{}件の有効なAPIキーで使われているため削除できません。";
    // Refusals of the services.
    "invalid query: {}" => "The search could not be done with these conditions. Check them and try again.", "この条件では検索できませんでした。条件をご確認のうえ、もう一度お試しください。";
    "a collection cannot be renamed; its name is used in URLs and filters" => "A collection ID cannot be changed: it is used in URLs and filters.", "コレクションIDはURLや絞り込み条件で使われるため変更できません。";
    "expires_in_days must be between 1 and 730" => "Enter a validity of 1 to 730 days.", "有効期間は1〜730日で入力してください。";
    "seq must be 1 or more" => "Entries are numbered from 1.", "記録の番号は1から始まります。";
    "first must not be larger than second" => "The older size must not be larger than the newer one.", "古い件数は新しい件数以下にしてください。";
    "limit must be between 1 and 1000" => "Show between 1 and 1000 entries at a time.", "一度に表示できるのは1〜1000件です。";
    "status must be active or disabled" => "Choose a status from the list.", "状態を一覧から選んでください。";
    "the form could not be read" => "The form could not be read. Reload the page and try again.", "フォームの内容を読み取れませんでした。ページを再読み込みしてから、もう一度お試しください。";
    "the form could not be read: {}" => "The form could not be read. Reload the page and try again.", "フォームの内容を読み取れませんでした。ページを再読み込みしてから、もう一度お試しください。";
    "the key name must be 1–100 characters" => "Enter a key name of 1 to 100 characters.", "キーの名前は1〜100文字で入力してください。";
    "the role {} has permissions you do not have yourself" => "You cannot assign a role with permissions that you do not have yourself.", "ご自身が持たない権限を含むロールは割り当てられません。";
    "you cannot change your own role or status" => "You cannot change your own role or status.", "自分自身のロールや状態は変更できません。";
    "you cannot delete your own account" => "You cannot delete your own account.", "自分自身のアカウントは削除できません。";
    "changing a role requires every permission it holds; the role {} holds {}, which you do not have" => "The role {} includes permissions that you do not have yourself, so you cannot change or delete it.", "ロール「{}」にはご自身が持たない権限が含まれているため、変更・削除できません。";
    "changing which fields hold personal information requires pii.read (fields: {})" => "Changing which fields hold personal information requires the “See personal information” permission (fields: {}).", "個人情報として扱う項目を変更・削除するには「個人情報の閲覧」権限が必要です（対象の項目：{}）。";
    "listing more than {} records a minute requires the records.export permission; wait a minute or ask an administrator for it" => "Without the “Export records” permission you can list at most {} records a minute. Wait a minute, or ask an administrator for the permission.", "「レコードのエクスポート」権限がない場合、一覧で表示できるのは1分間に{}件までです。1分ほど待ってから開き直すか、管理者に権限の付与を依頼してください。";
    "this request is authenticated with an API key, which is not a session: nothing was ended; revoke the key with DELETE /api/v1/api-keys/{} instead" => "This request was made with an API key, which has no session to sign out of. To stop the key from working, revoke it on the API keys page.", "APIキーによるリクエストのため、終了するセッションはありません。キーを使えなくするには、APIキーの画面で失効させてください。";
    "you cannot grant {}, which you do not have" => "You cannot grant permissions that you do not have yourself.", "ご自身が持たない権限は付与できません。";
    "{} holds personal information; changing it requires pii.read" => "This field holds personal information. Changing it requires the “See personal information” permission.", "この項目は個人情報のため、変更には「個人情報の閲覧」権限が必要です。";
    "{} is not a role" => "Choose a role from the list.", "ロールを一覧から選んでください。";
    "{} is not a role of this tenant" => "Choose a role from the list.", "ロールを一覧から選んでください。";
    "{} is not an operation" => "Choose an operation from the list.", "操作を一覧から選んでください。";
    "status {} must be a status such as 404 or a class such as 4xx" => "Enter a status code such as 404, or a class such as 4xx.", "404のような結果コード、または4xxのような分類を入力してください。";
    "ip {} is not an IP address" => "Enter an IP address such as 192.0.2.10.", "192.0.2.10のようなIPアドレスを入力してください。";
    "before must be an entry's cursor" => "The page link is no longer valid. Go back to the newest entries.", "ページのリンクが無効です。最新の記録から表示し直してください。";
    // API keys narrowed (IAM-12).
    "the key's role does not have this permission" => "The key's role does not have this permission.", "キーのロールにはこの権限がありません。";
    "name at least one permission, or leave scopes out" => "Choose at least one permission, or none to use all of the role's.", "権限を1つ以上選ぶか、ロールのすべての権限を使う場合は何も選ばないでください。";
    "not an IP address or a CIDR range" => "This is not an IP address or a CIDR range.", "IP アドレスまたは CIDR 表記の範囲ではありません。";
    "outside the tenant's API address list" => "This range is outside the tenant's API address list.", "この範囲はテナントの API 用の許可リストの外にあります。";
    // Allowed addresses (IAM-10).
    "sign-in to the {} from an address not in its list" => "Sign-in to the {} from an address that is not in its list of allowed addresses.", "許可されていないアドレスからの{}へのログインです。";
    "second sign-in step to the {} from an address not in its list" => "Second sign-in step to the {} from an address that is not in its list of allowed addresses.", "許可されていないアドレスからの{}へのログイン（二段階目）です。";
    // Second factors (IAM-6).
    "enter the 6-digit code of your authenticator app, or a 16-character recovery code" => "Enter the 6-digit code of your authenticator app, or a 16-character recovery code.", "認証アプリの 6 桁のコード、または 16 文字のリカバリーコードを入力してください。";
    "no enrolment is waiting; start again" => "No authenticator app is waiting to be confirmed. Start adding it again.", "確認待ちの認証アプリはありません。もう一度追加からやり直してください。";
    "recovery codes come with a second factor; enrol one first" => "Recovery codes come with a second factor. Add an authenticator app first.", "リカバリーコードは二要素認証とともに発行されます。先に認証アプリを登録してください。";
    "second factors belong to people signed in with a password; an API key has none" => "Second factors belong to people who sign in with a password; an API key has none.", "二要素認証はパスワードでログインする利用者のものです。API キーにはありません。";
    "passkeys belong to people signed in with a password; an API key has none" => "Passkeys belong to people who sign in with a password; an API key has none.", "パスキーはパスワードでログインする利用者のものです。API キーにはありません。";
    "this passkey is already registered" => "This passkey is already registered.", "このパスキーはすでに登録されています。";
    "give the passkey a name of 1 to {} characters, such as the device it is on" => "Give the passkey a name of 1 to {} characters, such as the device it is on.", "パスキーには、使う端末の名前など、1〜{}文字の名前を付けてください。";
    "not the answer of navigator.credentials.create (a PublicKeyCredential): {}" => "The browser's answer could not be read. Start adding the passkey again.", "ブラウザーからの応答を読み取れませんでした。パスキーの追加を最初からやり直してください。";
    "not the answer of navigator.credentials.get (a PublicKeyCredential): {}" => "The browser's answer could not be read. Try the passkey again, or enter a code.", "ブラウザーからの応答を読み取れませんでした。もう一度パスキーをお試しいただくか、確認コードを入力してください。";
    "time step out of range" => "The device's clock is far off. Set it to the right time and try again.", "端末の時計が大きくずれています。正しい時刻に合わせてから、もう一度お試しください。";
    "your tenant requires you to have a second factor: enrol another before removing this one" => "Your organisation requires you to have a second factor. Add another authenticator app before removing this one.", "所属組織の設定で二要素認証が必須です。この認証アプリを削除する前に、別の認証アプリを登録してください。";
    "state the reason in 5 to 500 characters" => "State the reason in 5 to 500 characters.", "理由を5〜500文字で入力してください。";
    "write IPv4 ranges in IPv4 form, such as 192.0.2.0/24" => "Write IPv4 ranges in IPv4 form, such as 192.0.2.0/24.", "IPv4 の範囲は 192.0.2.0/24 のように IPv4 の形式で入力してください。";
    // Account security (IAM-1, IAM-4, IAM-7, IAM-9).
    "an API key has no password; sign in as a user to change yours" => "An API key has no password. Sign in as a user to change yours.", "APIキーにはパスワードがありません。ご自身のパスワードはユーザーとしてログインして変更してください。";
    "an API key has no sessions; sign in as a user" => "An API key has no sessions. Sign in as a user to see yours.", "APIキーにはセッションがありません。ユーザーとしてログインしてご確認ください。";
    "at most {} rows can be imported at once" => "At most {} rows can be imported at once. Split the file.", "一度に登録できるのは{}行までです。ファイルを分けてください。";
    "revision must be 0 or more" => "The form is out of date. Reload the page and try again.", "フォームの情報が古くなっています。ページを再読み込みしてから、もう一度お試しください。";
    "the current password is not correct" => "The current password is not correct.", "現在のパスワードが正しくありません。";
    "the file has no rows to import" => "The file has no rows to import.", "登録する行がありません。";
    "the form is incomplete; reload the page" => "The form is incomplete. Reload the page and try again.", "フォームの内容が不足しています。ページを再読み込みしてから、もう一度お試しください。";
    "the header row cannot be read: {}" => "The first row (the column names) cannot be read. Check that the file is CSV.", "1行目（列名）を読み取れません。CSV形式かどうかご確認ください。";
    "the header row lacks the column {}" => "The first row lacks the column {}.", "1行目に列 {} がありません。";
    "the security settings were changed by someone else meanwhile" => "Another administrator changed the security settings meanwhile. Reload the page and make your change again.", "他の管理者がセキュリティ設定を変更しました。ページを再読み込みしてから、もう一度変更してください。";
    "this user has already set a password" => "This user has already set a password.", "このユーザーはすでにパスワードを設定しています。";
    "unknown column {}; the columns are {}" => "The column {} is unknown. The columns are {}.", "列 {} は使えません。使える列は {} です。";
    "you cannot issue a one-time password to yourself" => "You cannot issue a one-time password to yourself. Change your password under My account.", "自分自身にワンタイムパスワードは発行できません。パスワードは「アカウント」から変更してください。";
    "{} must be a date such as 2026-04-01" => "Enter a date such as 2026-04-01.", "日付を正しく入力してください（例：2026-04-01）。";
    "{} is required (an RFC 3339 instant)" => "Enter both the start and the end of the period.", "期間の開始と終了の両方を入力してください。";
    "format must be csv, csv-utf8 or json, not {}" => "Choose a file format from the list.", "ファイル形式を一覧から選んでください。";
    "from must be before to" => "The end of the period is before its start.", "期間の終了が開始より前になっています。";
    "the range holds {} entries; one file holds at most {}: choose a shorter range" => "The period holds more entries than one file can. Export it in shorter periods.", "この期間の記録は1ファイルに収まりません。期間を分けてエクスポートしてください。";
    "the reason must be one line, without control characters" => "Enter the reason on one line.", "理由は1行で入力してください。";
    "the reason must be {} to {} characters long" => "Enter a reason of 10 to 500 characters.", "理由は10〜500文字で入力してください。";
    "{} must be an RFC 3339 instant such as 2026-11-01T00:00:00+09:00" => "Enter a date and time.", "日時を正しく入力してください。";
    "choose at least one column" => "Choose at least one column to show.", "表示する列を1つ以上選んでください。";
    "only a signed-in user has views" => "Only a signed-in user can save a view.", "表示設定を保存できるのは、ログインしているユーザーだけです。";
    // Sign-in and the audit log.
    "the form's origin or token did not match" => "The form was not accepted: it did not come from this console's page, or the page had expired.", "フォームを受け付けませんでした。この管理画面のページから送信されていないか、ページの有効期限が切れています。";
    "wrong email address or password" => "The email address or password is wrong.", "メールアドレスまたはパスワードが正しくありません。";
    "the chain is missing: no entries and no head, where at least one entry must be" => "Part of the operation log is missing: there are no entries where at least one must be.", "操作ログの一部が失われています。少なくとも1件あるはずの記録がありません。";
    // Break-glass access (IAM-13).
    "you already have a break-glass access to this tenant that is pending or active; end it first" => "You already have a break-glass access to this tenant that is pending or active. End it first.", "このテナントには、あなたの保留中または有効な緊急アクセスがすでにあります。先にそれを終了してください。";
    "this break-glass access is not active (it is {})" => "This break-glass access is not active (it is {}).", "この緊急アクセスは有効ではありません（状態：{}）。";
    "this break-glass access changed meanwhile; reload and try again" => "This break-glass access was changed by someone else meanwhile. Reload the page and try again.", "この緊急アクセスは、その間に他の人によって変更されました。画面を再読み込みしてやり直してください。";
    "this break-glass request is not waiting for approval (it is {})" => "This request is no longer waiting for approval (it is {}).", "この申請はすでに承認待ちではありません（状態：{}）。";
    "this break-glass access belongs to another operator" => "This break-glass access belongs to another operator.", "この緊急アクセスは別の運用者のものです。";
    "break-glass access is read-only: only GET requests are allowed under it" => "Break-glass access is read-only: nothing can be changed under it.", "緊急アクセスは閲覧のみです。変更はできません。";
    "this break-glass access exists already" => "This break-glass access exists already.", "この緊急アクセスはすでに存在します。";
    "give the duration as a whole number of minutes" => "Give the duration as a whole number of minutes.", "期間は分単位の整数で入力してください。";
    // Access to the tenant.
    "this tenant is suspended" => "This tenant's use of the service is suspended. Please contact your service provider.", "このテナントは現在ご利用を停止しています。詳しくはサービス提供元にお問い合わせください。";
    "this tenant's contract starts on {}" => "This tenant's contract starts on {}. You can sign in from that day.", "このテナントのご契約は{}に開始します。開始日以降にログインしてください。";
    "this tenant was already deleted" => "This tenant's data was already deleted at its contract's end.", "このテナントのデータは契約終了に伴いすでに削除されています。";
    "this tenant's contract ended on {}; its data can be read and exported, not changed" => "This tenant's contract ended on {}. Its data can still be read and exported until it is deleted, but not changed.", "このテナントのご契約は{}に終了しました。データは削除されるまで閲覧とエクスポートができますが、変更はできません。";
    // Key rotation (DAT-2).
    "a key rotation of this tenant is running already" => "A key rotation of this tenant is still running. Wait until it is done.", "このテナントの鍵の更新がまだ実行中です。完了してから、もう一度お試しください。";
    "encryption at rest is off: there is no key to rotate" => "Encryption at rest is off on this installation: there is no key to rotate.", "この環境では保存データの暗号化が無効のため、更新する鍵がありません。";
    "encryption at rest is off on this installation: there is no key to rotate (docs/operations.md)" => "Encryption at rest is off on this installation: there is no key to rotate. Ask the operator.", "この環境では保存データの暗号化が無効のため、更新する鍵がありません。運用者にお問い合わせください。";
    "this tenant got its keys at the same moment" => "The tenant's keys were created by another request at the same moment. Reload the page.", "同時に別の操作でテナントの鍵が作られました。ページを再読み込みしてください。";
    "another rotation of this tenant's key started first" => "Another rotation of this tenant's key started first. Reload the page.", "このテナントの鍵の更新が先に開始されました。ページを再読み込みしてください。";
    "this tenant's data key has no version left" => "This tenant's data key cannot be rotated any more. Contact the operator.", "このテナントのデータ鍵はこれ以上更新できません。運用者にお問い合わせください。";
    "support access is read-only; it cannot rotate the keys" => "Support access is read-only: it cannot rotate the keys.", "サポート用のアクセスは閲覧のみのため、鍵を更新できません。";
    "master-key rotation: {}" => "The master key could not be rotated ({}).", "マスター鍵を更新できませんでした（{}）。";
    // The operation log's filters (LOG-1).
    "{} is not an outcome: use success, failure or denied" => "Choose an outcome from the list.", "結果を一覧から選んでください。";
    "{} is not an IP address" => "Enter an IP address such as 192.0.2.10.", "IPアドレスを正しく入力してください（例：192.0.2.10）。";
    "target must be at most 500 characters" => "Enter a target of at most 500 characters.", "対象は500文字以内で入力してください。";
    // Imports read from a spooled copy of the file (DAT-6).
    "the file is not valid text in its encoding" => "The file is not valid text in the encoding chosen. Choose the file's encoding, or save it again as CSV UTF-8.", "ファイルが選んだ文字コードとして正しくありません。文字コードを選び直すか、「CSV UTF-8」で保存し直してください。";
    "the file cannot be read: {}" => "The file could not be read. Choose it again.", "ファイルを読み取れませんでした。もう一度選んでください。";
    "the file read differently the second time; import it again" => "The file read differently the second time. Nothing was imported: import it again.", "2回目の読み込みで内容が異なりました。何もインポートしていません。もう一度インポートしてください。";
    "the file of this preview is no longer kept; choose it again" => "The file of this preview is no longer kept (a preview keeps it for an hour). Choose the file again.", "この確認画面のファイルは保管期間（1時間）を過ぎたため削除されました。もう一度ファイルを選んでください。";
    "a field of the form is too long" => "A field of the form is too long.", "フォームの入力内容が長すぎます。";
}

/// The parts of `text` that the `{}` of `template` stand for, when `text` is that message.
fn matches<'t>(template: &str, text: &'t str) -> Option<Vec<&'t str>> {
    let mut pieces = template.split("{}");
    let first = pieces.next().unwrap_or("");
    let mut rest = text.strip_prefix(first)?;
    let mut parts = Vec::new();
    let pieces: Vec<&str> = pieces.collect();
    for (i, piece) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len();
        // The last piece must end the text; the others are found at their first occurrence.
        let at = if last {
            rest.strip_suffix(piece).map(str::len)?
        } else if piece.is_empty() {
            return None;
        } else {
            rest.find(piece)?
        };
        parts.push(&rest[..at]);
        rest = &rest[at + piece.len()..];
    }
    (rest.is_empty()).then_some(parts)
}

/// The wording of a known message in `lang`; `None` for a message this catalogue lacks.
pub fn explain(text: &str, lang: Lang) -> Option<String> {
    EXPLANATIONS.iter().find_map(|(template, en, ja)| {
        let parts = matches(template, text)?;
        let mut out = match lang {
            Lang::En => (*en).to_owned(),
            Lang::Ja => (*ja).to_owned(),
        };
        for part in parts {
            if !out.contains("{}") {
                break;
            }
            out = out.replacen("{}", part.trim_matches('"'), 1);
        }
        Some(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    #[test]
    fn messages_are_matched_with_their_parts() {
        assert_eq!(
            explain("this role is still assigned to 3 user(s)", Lang::Ja).as_deref(),
            Some("このロールは3人のユーザーに割り当てられているため削除できません。")
        );
        assert_eq!(
            explain("a tenant with this slug already exists", Lang::En).as_deref(),
            Some("This tenant ID is already in use.")
        );
        assert_eq!(explain("\"x\" is not a role", Lang::Ja).as_deref(), Some("ロールを一覧から選んでください。"));
        assert_eq!(
            explain("this tenant's contract starts on 2026-12-01", Lang::Ja).as_deref(),
            Some("このテナントのご契約は2026-12-01に開始します。開始日以降にログインしてください。")
        );
        assert_eq!(
            explain(
                "listing more than 500 records a minute requires the records.export permission; wait a minute or ask an administrator for it",
                Lang::Ja
            )
            .as_deref(),
            Some("「レコードのエクスポート」権限がない場合、一覧で表示できるのは1分間に500件までです。1分ほど待ってから開き直すか、管理者に権限の付与を依頼してください。")
        );
        assert_eq!(
            explain(
                "changing a role requires every permission it holds; the role sales holds records.write, which you do not have",
                Lang::En
            )
            .as_deref(),
            Some("The role sales includes permissions that you do not have yourself, so you cannot change or delete it.")
        );
        assert!(explain("something nobody wrote", Lang::Ja).is_none());
        assert!(explain("a tenant with this slug already exists!", Lang::Ja).is_none());
        assert_eq!(matches("{} is not a role", "\"x\" is not a role of this tenant"), None);
        assert_eq!(
            matches("{} is not a role of this tenant", "\"x\" is not a role of this tenant"),
            Some(vec!["\"x\""])
        );
    }

    #[test]
    fn ten_1_every_reason_a_tenant_cannot_be_used_is_explained() {
        use kura_domain::TenantBlock;
        let day = jiff::civil::date(2026, 12, 1);
        for block in [TenantBlock::Suspended, TenantBlock::NotStarted(day), TenantBlock::Ended(day)] {
            for lang in [Lang::Ja, Lang::En] {
                assert!(explain(&block.message(), lang).is_some(), "{}", block.message());
            }
        }
    }

    #[test]
    fn every_wording_fills_what_its_template_leaves_open() {
        for (template, en, ja) in EXPLANATIONS {
            let open = template.matches("{}").count();
            assert!(en.matches("{}").count() <= open && ja.matches("{}").count() <= open, "{template}");
            assert!(!ja.is_empty() && !en.is_empty() && ja.ends_with('。') && en.ends_with('.'), "{template}");
        }
        let templates: BTreeSet<&str> = EXPLANATIONS.iter().map(|(t, _, _)| *t).collect();
        assert_eq!(templates.len(), EXPLANATIONS.len(), "a template is listed twice");
    }

    /// The message templates of the sources whose messages can reach a console page: the
    /// services, the consoles, authentication, the store and the domain rules (not the JSON
    /// API's own request parsing, which the consoles never show).
    fn templates_in_sources() -> BTreeSet<String> {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let roots = [
            "kura-server/src/service",
            "kura-server/src/console",
            "kura-server/src/auth",
            "kura-store/src",
            "kura-domain/src",
        ];
        let mut found = BTreeSet::new();
        for root in roots {
            visit(&crates.join(root), &mut |text| scan(text, &mut found));
        }
        found
    }

    fn visit(dir: &Path, f: &mut dyn FnMut(&str)) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read a source folder").flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::path);
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                visit(&path, f);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                // Tests build messages of their own.
                let code = text.split("#[cfg(test)]").next().unwrap_or("");
                f(code);
            }
        }
    }

    /// The string literal that `body` starts (just after its opening quote), unescaped, with
    /// each format argument as `{}`; `None` when it does not end.
    fn literal(body: &str) -> Option<String> {
        let mut out = String::new();
        let mut it = body.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '"' => return Some(out),
                '\\' => match it.next()? {
                    // A line continuation: the line break and the next line's indent vanish.
                    '\n' => while it.next_if(|c| c.is_whitespace()).is_some() {},
                    'n' => out.push('\n'),
                    other => out.push(other),
                },
                '{' if it.next_if_eq(&'{').is_some() => out.push('{'),
                '{' => {
                    for d in it.by_ref() {
                        if d == '}' {
                            break;
                        }
                    }
                    out.push_str("{}");
                }
                '}' => {
                    it.next_if_eq(&'}');
                    out.push('}');
                }
                other => out.push(other),
            }
        }
        None
    }

    fn scan(code: &str, found: &mut BTreeSet<String>) {
        // Messages handed to the error types, the store's constraint mapper and the field
        // error kinds, written as a literal or as a `format!` of one.
        let calls = [
            "BadRequest(",
            "ForbiddenOther(",
            "Conflict(",
            "Gone(",
            "constraint(",
            "bad(",
            "reason: ",
            "UNIQUE: &str = ",
        ];
        for call in calls {
            for (at, _) in code.match_indices(call) {
                let after = code[at + call.len()..].trim_start();
                let after = after.strip_prefix("format!(").unwrap_or(after).trim_start();
                if let Some(t) = after.strip_prefix('"').and_then(literal) {
                    found.insert(t);
                }
            }
        }
        // `DomainError::invalid("what", …)` and `DomainError::Invalid { what: "what", … }` read
        // "invalid what: …".
        for call in ["DomainError::invalid(", "DomainError::Invalid { what: "] {
            for (at, _) in code.match_indices(call) {
                let after = code[at + call.len()..].trim_start();
                if let Some(body) = after.strip_prefix('"') {
                    let what: String = body.chars().take_while(|c| *c != '"').collect();
                    found.insert(format!("invalid {what}: {{}}"));
                }
            }
        }
    }

    #[test]
    fn every_explanation_in_the_sources_has_its_wording_in_both_languages() {
        let found = templates_in_sources();
        assert!(found.len() > 30, "the scan found too few messages to be reading the sources: {found:?}");
        let known: BTreeSet<&str> = EXPLANATIONS.iter().map(|(t, _, _)| *t).collect();
        let missing: Vec<&String> = found.iter().filter(|t| !known.contains(t.as_str())).collect();
        assert!(
            missing.is_empty(),
            "these messages can reach a console page but have no wording in console/explain.rs: {missing:#?}"
        );
    }
}
