//! The catalogue of the consoles' words: one variant per message, its English and Japanese text
//! side by side. Keys are checked by the compiler; a message cannot lack a language. Placeholders
//! such as `{name}` are filled by the caller with `str::replace`.

use super::i18n::Lang;

macro_rules! catalogue {
    ($($key:ident => $en:literal, $ja:literal;)*) => {
        /// A message of the consoles.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Msg { $($key,)* }

        impl Msg {
            pub const fn text(self, lang: Lang) -> &'static str {
                match self {
                    $(Self::$key => match lang { Lang::En => $en, Lang::Ja => $ja },)*
                }
            }
        }
    };
}

impl Msg {
    pub const fn yes_no(b: bool) -> Self {
        if b { Self::Yes } else { Self::No }
    }
}

catalogue! {
    // Frame and navigation
    SkipToContent => "Skip to main content", "本文へスキップ";
    MainMenu => "Main menu", "メインメニュー";
    Breadcrumbs => "You are here", "現在の位置";
    SwitchLanguage => "Switch language", "表示言語を切り替え";
    TenantConsole => "Console", "管理コンソール";
    OperatorConsole => "Operator console", "運用コンソール";
    NavDashboard => "Dashboard", "ダッシュボード";
    NavCollections => "Collections", "コレクション";
    NavUsers => "Users", "ユーザー管理";
    NavRoles => "Roles", "ロール";
    NavApiKeys => "API keys", "APIキー";
    NavAudit => "Operation log", "操作ログ";
    NavTenants => "Tenants", "テナント一覧";
    BackToDashboard => "Back to the dashboard", "ダッシュボードに戻る";
    BackToOperator => "Back to the tenant list", "テナント一覧に戻る";
    // Common words
    Save => "Save", "保存する";
    Create => "Create", "作成する";
    Cancel => "Cancel", "キャンセル";
    Delete => "Delete", "削除する";
    Remove => "Remove", "削除";
    Edit => "Edit", "編集";
    Back => "Back", "戻る";
    Search => "Search", "検索";
    ClearFilters => "Clear", "条件をクリア";
    Actions => "Actions", "操作";
    Yes => "Yes", "はい";
    No => "No", "いいえ";
    Required => "Required", "必須";
    Memo => "Memo", "メモ";
    MemoHelp => "A note for administrators: what this is for, who maintains it.", "管理者向けのメモです。用途や管理担当者などを記入できます。";
    Status => "Status", "状態";
    Role => "Role", "ロール";
    Email => "Email address", "メールアドレス";
    Password => "Password", "パスワード";
    DisplayName => "Name", "氏名";
    CreatedAt => "Created", "作成日時";
    UpdatedAt => "Updated", "更新日時";
    Version => "Version", "バージョン";
    TimeZone => "Time zone", "タイムゾーン";
    Pagination => "Pages", "ページ送り";
    Previous => "Previous", "前へ";
    Next => "Next", "次へ";
    Untitled => "(empty)", "（未入力）";
    NoMatchingData => "No matching data.", "該当するデータはありません。";
    CannotUndo => "This cannot be undone.", "この操作は取り消せません。";
    FormHasErrors => "Please check the highlighted fields.", "入力内容に誤りがあります。赤く表示された項目をご確認ください。";
    NameRule => "Enter 1 to 200 characters.", "1〜200文字で入力してください。";
    KeyRule => "Use 1–63 lowercase letters, digits and underscores, starting with a letter.", "半角英小文字・数字・アンダースコア（_）の1〜63文字で、英字から始めてください。";
    KeyHelp => "Used in URLs and the API. Lowercase letters, digits and _; cannot be changed later.", "URLやAPIで使われる識別名です。半角英小文字・数字・_ が使えます。後から変更できません。";
    DoneCreated => "Created.", "作成しました。";
    DoneSaved => "Saved.", "保存しました。";
    DoneDeleted => "Deleted.", "削除しました。";
    DoneRevoked => "Revoked.", "失効させました。";
    ClickToSelect => "Click the value to select all of it.", "値をクリックすると全体を選択できます。";
    CopiedDone => "I have copied it", "控えました";
    // Sign-in
    LoginTitle => "Sign in", "ログイン";
    Login => "Sign in", "ログイン";
    Logout => "Sign out", "ログアウト";
    TenantId => "Tenant ID", "テナントID";
    TenantIdHelp => "The ID your administrator gave you, such as acme.", "管理者から案内されたテナントID（例：acme）を入力してください。";
    LoginFailed => "The tenant ID, email address or password is incorrect.", "テナントID、メールアドレスまたはパスワードが正しくありません。";
    SignedOut => "You have signed out.", "ログアウトしました。";
    OperatorLoginTitle => "Operator sign-in", "運用者ログイン";
    OperatorLoginFailed => "The email address or password is incorrect.", "メールアドレスまたはパスワードが正しくありません。";
    // Dashboard
    RecordsTotal => "Records", "レコード";
    DashboardNothing => "Your role has no functions to show here yet. Ask your administrator if you need access.", "現在のロールで利用できる機能はありません。必要な場合は管理者にお問い合わせください。";
    RecentActivity => "Recent activity", "最近の操作";
    SeeAll => "See all", "すべて表示";
    // Users
    NewUser => "New user", "ユーザーを追加";
    NoUsersYet => "There are no users yet.", "まだユーザーがいません。";
    InitialPassword => "Initial password", "初期パスワード";
    InitialPasswordHelp => "Usually leave this empty: the user then chooses their own password, as set below. A password typed here follows the tenant's password rules.", "通常は空欄のままにしてください。下の設定に従い、利用者自身がパスワードを決めます。ここに入力したパスワードには、テナントのパスワードルールが適用されます。";
    AccessChoice => "Without an initial password", "初期パスワードを入力しない場合";
    AccessInvite => "Mail a link to choose a password (recommended)", "パスワード設定用のリンクをメールで送る（推奨）";
    AccessOneTime => "Show a one-time password to hand over", "ワンタイムパスワードを表示して手渡す";
    AccessHelp => "The link works once, for 72 hours. A one-time password is shown to you once and must be changed at the first sign-in.", "リンクは72時間、一度だけ有効です。ワンタイムパスワードはこの後一度だけ表示され、初回ログイン時に変更が必要です。";
    OneTimeHelp => "For someone who cannot receive mail: a generated password, shown to you once, that they must change at their next sign-in. Their sessions end.", "メールを受け取れない利用者向けです。自動生成したパスワードを一度だけ表示します。利用者は次回ログイン時に変更が必要です。現在のセッションは終了します。";
    IssueOneTime => "Issue a one-time password", "ワンタイムパスワードを発行";
    OneTimePassword => "One-time password", "ワンタイムパスワード";
    OneTimeShownOnce => "This password is shown only now. Hand it over by a safe channel; it must be changed at the first sign-in.", "このパスワードは今回のみ表示されます。安全な方法でお渡しください。初回ログイン時に変更が必要です。";
    OneTimeHandover => "The user signs in with the tenant ID, their email address and this password.", "利用者は、テナントID・メールアドレス・このパスワードでログインします。";
    OneTimeGone => "If you did not note it, issue a new one-time password from the user's page.", "控えていない場合は、ユーザーの画面からワンタイムパスワードを再発行してください。";
    NewPassword => "New password", "新しいパスワード";
    NewPasswordHelp => "Leave empty to keep the current password. A new password signs the user out on every device.", "変更しない場合は空欄のままにしてください。新しいパスワードを設定すると、このユーザーはすべての端末からログアウトされます。";
    RoleAssignHelp => "Only roles within your own permissions are listed.", "ご自身の権限の範囲内のロールのみ選択できます。";
    StatusHelp => "A disabled user is signed out everywhere and cannot sign in.", "無効にすると、そのユーザーはすべての端末からログアウトされ、ログインできなくなります。";
    CannotChangeOwnRole => "You cannot change your own role or status.", "自分自身のロールと状態は変更できません。";
    DeleteUser => "Delete user", "ユーザーの削除";
    ConfirmDeleteUser => "Delete the user “{name}”?", "ユーザー「{name}」を削除してもよろしいですか？";
    DeleteUserNote => "The user can no longer sign in. Their entries in the operation log are kept.", "このユーザーはログインできなくなります。操作ログの記録は残ります。";
    // Roles
    NewRole => "New role", "ロールを作成";
    RoleName => "Role name", "ロール名";
    RoleKey => "Role ID", "ロールID";
    Builtin => "Built-in", "標準";
    BuiltinReadOnly => "Built-in roles cannot be changed. To grant a different set of permissions, create a custom role.", "標準ロールは変更できません。異なる権限の組み合わせが必要な場合は、ロールを新しく作成してください。";
    Permissions => "Permissions", "権限";
    PermissionsHelp => "Grant only what the role's users need. You cannot grant permissions you do not have yourself.", "必要な権限だけを付与してください。ご自身が持たない権限は付与できません。";
    RolesIntro => "A role is a set of permissions. Each user has one role.", "ロールは権限の組み合わせです。ユーザーには1つのロールを割り当てます。";
    DeleteRole => "Delete role", "ロールの削除";
    ConfirmDeleteRole => "Delete the role “{name}”?", "ロール「{name}」を削除してもよろしいですか？";
    DeleteRoleNote => "A role that is still assigned to users or API keys cannot be deleted.", "ユーザーやAPIキーに割り当てられているロールは削除できません。";
    // Collections
    NewCollection => "New collection", "コレクションを作成";
    NoCollectionsYet => "There are no collections yet. Create one to start storing records.", "まだコレクションがありません。コレクションを作成してレコードの管理を始めましょう。";
    NoCollectionsViewer => "There are no collections yet.", "まだコレクションがありません。";
    CollectionLabel => "Display name", "表示名";
    CollectionLabelHelp => "Shown in menus and lists, for example 顧客名簿.", "メニューや一覧に表示される名前です（例：顧客名簿）。";
    CollectionName => "Collection ID", "コレクションID";
    CollectionNameHelp => "Used in URLs and the API, for example customers. Cannot be changed later.", "URLやAPIで使われる識別名です（例：customers）。後から変更できません。";
    NameFixed => "The ID cannot be changed.", "IDは変更できません。";
    FieldCount => "Fields", "項目数";
    EditDefinition => "Edit definition", "定義を編集";
    OpenRecords => "Open records", "レコードを開く";
    BasicSettings => "Basic settings", "基本設定";
    Fields => "Fields", "項目";
    AddField => "Add field", "項目を追加";
    NoFieldsYet => "This collection has no fields yet. Add a field to define what each record holds.", "まだ項目がありません。項目を追加して、レコードに保存する内容を定義しましょう。";
    DangerZone => "Delete this collection", "コレクションの削除";
    DeleteCollection => "Delete collection", "コレクションを削除";
    DeleteCollectionHelp => "Deleting a collection also deletes all of its records. This cannot be undone.", "コレクションを削除すると、登録されているレコードもすべて削除されます。この操作は取り消せません。";
    ConfirmDeleteCollection => "Delete the collection “{name}” and all its {count} records?", "コレクション「{name}」と、そのレコード{count}件をすべて削除してもよろしいですか？";
    DeleteCollectionAndRecords => "Delete collection and records", "コレクションとレコードを削除する";
    // Fields
    FieldLabel => "Field label", "項目名";
    FieldLabelHelp => "Shown beside the input, for example 氏名.", "入力欄に表示される名前です（例：氏名）。";
    FieldName => "Field ID", "項目ID";
    FieldNameHelp => "Used in the API and in filters, for example full_name. Cannot be changed later.", "APIや絞り込み条件で使われる識別名です（例：full_name）。後から変更できません。";
    FieldType => "Type", "種類";
    FieldFixed => "The ID and type of a field cannot be changed.", "項目IDと種類は変更できません。";
    RequiredField => "Required", "必須項目にする";
    RequiredFieldHelp => "Records cannot be saved without a value.", "値を入力しないとレコードを保存できません。";
    RequiredShort => "Required", "必須";
    PiiField => "Personal information", "個人情報として扱う";
    PiiFieldHelp => "Users without the “See personal information” permission see •••••• instead of the value, cannot search or sort by it, and cannot change it.", "「個人情報の閲覧」権限のないユーザーには値が •••••• と表示され、この項目での検索・並べ替え・変更もできなくなります。";
    PiiShort => "Personal info", "個人情報";
    FieldMemoHelp => "A note for administrators; also shown to users under the input.", "管理者向けのメモです。入力欄の下にも表示されます。";
    InputRules => "Input rules", "入力ルール";
    InputRulesHelp => "Leave a rule empty to not use it. Each rule applies only to the types named under it.", "使わないルールは空欄のままにしてください。各ルールは、その下に記載された種類の項目にのみ設定できます。";
    MinLength => "Minimum length", "最小文字数";
    MaxLength => "Maximum length", "最大文字数";
    Charset => "Allowed characters", "文字種";
    NoRestriction => "No restriction", "制限なし";
    Pattern => "Pattern (regular expression)", "形式（正規表現）";
    PatternHelp => "The whole value must match, for example \\d{3}-\\d{4} for a postal code. Text types only.", "値全体が一致する必要があります（例：郵便番号なら \\d{3}-\\d{4}）。テキスト系の項目のみ。";
    PatternInvalid => "This is not a valid regular expression.", "正規表現として正しくありません。";
    MinValue => "Minimum", "最小値";
    MaxValue => "Maximum", "最大値";
    Choices => "Choices", "選択肢";
    ChoicesHelp => "One per line. Choice type only.", "1行に1つずつ入力してください。「選択肢」の項目のみ。";
    ChoicesRule => "Enter 1 to 200 different choices, one per line, each at most 200 characters.", "選択肢は1行に1つずつ、重複なしで1〜200個（各200文字以内）入力してください。";
    ForTextTypes => "Text, long text, email and phone fields.", "テキスト・メールアドレス・電話番号の項目のみ。";
    ForNumbers => "Number fields only.", "数値の項目のみ。";
    RuleNotForType => "This rule cannot be used with this type of field.", "この種類の項目には設定できません。";
    MinAboveMax => "The minimum is larger than the maximum.", "最小が最大を上回っています。";
    WholeNumberRange => "Enter a whole number from {min} to 10000.", "{min}〜10000の整数で入力してください。";
    ReservedName => "This ID is reserved. Choose another.", "このIDは予約されているため使用できません。";
    RemoveField => "Remove field", "項目の削除";
    ConfirmRemoveField => "Remove the field “{name}”?", "項目「{name}」を削除してもよろしいですか？";
    RemoveFieldNote => "Values already stored in this field are no longer shown.", "この項目に保存済みの値は表示されなくなります。";
    // Records
    NewRecord => "New record", "レコードを作成";
    EditRecord => "Edit record", "レコードの編集";
    RecordDetail => "Record", "レコードの詳細";
    NoRecordsYet => "There are no records yet. Create the first one.", "まだレコードがありません。最初のレコードを作成しましょう。";
    NoRecordsViewer => "There are no records yet.", "まだレコードがありません。";
    SearchRecords => "Search", "キーワード検索";
    FilterExpr => "Filter", "絞り込み条件";
    FilterHelp => "Optional. For example: points > 100 && plan = 'premium'. Operators: = != > >= < <= ~ (contains).", "任意。例：points > 100 && plan = 'premium'　使える演算子：= != > >= < <= ~（含む）";
    SortBy => "Sort by this column", "この列で並べ替え";
    ShowingRange => "{first}–{last} of {total}", "全{total}件中 {first}〜{last}件を表示";
    ChooseOne => "Please choose", "選択してください";
    MaskedHelp => "Hidden: personal information", "個人情報のため非表示";
    PiiNotEditable => "Personal information: you do not have permission to see or change it.", "個人情報のため、表示・変更する権限がありません。";
    DeleteRecord => "Delete record", "レコードの削除";
    ConfirmDeleteRecord => "Delete this record?", "このレコードを削除してもよろしいですか？";
    // API keys
    NewApiKey => "Issue API key", "APIキーを発行";
    ApiKeysIntro => "API keys let external systems use the API with the permissions of a role.", "APIキーを使うと、外部システムがロールの権限の範囲でAPIを利用できます。";
    NoApiKeysYet => "No API keys have been issued.", "発行済みのAPIキーはありません。";
    KeyName => "Key name", "キーの名前";
    KeyNameHelp => "What the key is for, for example “nightly CRM sync”.", "用途がわかる名前を付けてください（例：CRM夜間連携）。";
    KeyNameRule => "Enter 1 to 100 characters.", "1〜100文字で入力してください。";
    KeyRoleHelp => "The key acts with this role's permissions.", "このキーはこのロールの権限で動作します。";
    ExpiresInDays => "Valid for (days)", "有効期間（日数）";
    ExpiresInDaysHelp => "1 to 730 days. Leave empty for no expiry (not recommended).", "1〜730日。空欄の場合は無期限になります（推奨しません）。";
    ExpiresInDaysRule => "Enter a whole number from 1 to 730.", "1〜730の整数で入力してください。";
    IssueKey => "Issue", "発行する";
    KeyIssued => "API key issued", "APIキーを発行しました";
    ApiToken => "API key", "APIキー";
    SecretAlreadyShown => "This secret has already been shown, and is never shown twice.", "この秘密情報はすでに表示済みです。二度と表示されません。";
    KeySecretGone => "If you did not copy the key, revoke it and issue a new one.", "キーを控えていない場合は、このキーを失効させて新しく発行してください。";
    CopyTokenNow => "Copy this key now and store it safely. It will not be shown again.", "このキーは今すぐコピーして安全な場所に保管してください。この画面を閉じると二度と表示されません。";
    TokenUsage => "Send it as Authorization: Bearer <key>.", "Authorization: Bearer <キー> として送信してください。";
    ExpiresAt => "Expires", "有効期限";
    LastUsed => "Last used", "最終利用";
    NoExpiry => "No expiry", "無期限";
    NeverUsed => "Never", "未使用";
    ActiveKey => "Active", "有効";
    Revoked => "Revoked", "失効";
    Expired => "Expired", "期限切れ";
    Revoke => "Revoke", "失効させる";
    RevokeKey => "Revoke API key", "APIキーの失効";
    ConfirmRevokeKey => "Revoke the API key “{name}”?", "APIキー「{name}」を失効させてもよろしいですか？";
    RevokeKeyNote => "Systems using this key will be refused immediately. This cannot be undone.", "このキーを使っているシステムは直ちに利用できなくなります。この操作は取り消せません。";
    // Setup and reset links (TEN-1, IAM-7)
    SetupTitle => "Choose your password", "パスワードの設定";
    ResetTitle => "Choose a new password", "パスワードの再設定";
    LinkValidUntil => "This link works once, until {time}.", "このリンクは {time} まで、一度だけ使用できます。";
    SetPasswordButton => "Set password", "パスワードを設定する";
    LinkInvalid => "This link can no longer be used.", "このリンクは使用できません。";
    LinkInvalidSetup => "It has expired or has already been used. Ask your administrator to send a new one; if you have already set your password, sign in or use “Forgot your password?”.", "有効期限が切れているか、すでに使用されています。管理者に再送を依頼してください。パスワードを設定済みの場合は、ログインするか「パスワードをお忘れの方」をご利用ください。";
    LinkInvalidReset => "It has expired or has already been used. Ask for a new link below.", "有効期限が切れているか、すでに使用されています。下のボタンから新しいリンクを申請してください。";
    ForgotPassword => "Forgot your password?", "パスワードをお忘れの方";
    ForgotIntro => "Enter your tenant ID and email address. If they belong to an account, we will mail you a link to choose a new password. It works once, for one hour.", "テナントIDとメールアドレスを入力してください。登録済みのアカウントであれば、新しいパスワードを設定するためのリンクをメールでお送りします。リンクは1時間、一度だけ有効です。";
    SendResetLink => "Send the link", "リンクを送信する";
    ResetRequested => "If the tenant ID and address belong to an account, a link is on its way. Check your mail, including the spam folder.", "入力されたテナントIDとメールアドレスのアカウントが存在する場合は、リンクを送信しました。迷惑メールフォルダも含めてご確認ください。";
    BackToLogin => "Back to sign-in", "ログイン画面に戻る";
    PasswordSetSignIn => "Your password is set. Sign in with it now.", "パスワードを設定しました。新しいパスワードでログインしてください。";
    // Own account (IAM-4, IAM-9)
    MyAccount => "My account", "アカウント";
    AccountPassword => "Change password", "パスワードの変更";
    AccountSessions => "Signed-in devices", "ログイン中の端末";
    MustChangePasswordTitle => "Please change your password", "パスワードを変更してください";
    MustChangePassword => "Before you continue, choose a new password. The one you signed in with was issued to you, or it has expired.", "続行する前に新しいパスワードを設定してください。ログインに使ったパスワードは発行された仮のものか、有効期限が切れています。";
    AlreadySignedIn => "This account is already signed in on another device. Sign out there first, or wait until that session times out. Your administrator can also sign you out.", "このアカウントは別の端末でログイン中です。その端末でログアウトするか、セッションの有効期限が切れるまでお待ちください。管理者に強制ログアウトを依頼することもできます。";
    CurrentPassword => "Current password", "現在のパスワード";
    ConfirmPassword => "New password (again)", "新しいパスワード（確認）";
    PasswordsDiffer => "The two new passwords differ.", "新しいパスワードが一致しません。";
    CurrentPasswordWrong => "The current password is not correct.", "現在のパスワードが正しくありません。";
    PasswordRulesIntro => "Your new password must follow these rules:", "新しいパスワードは次の条件を満たす必要があります。";
    PasswordChanged => "Your password has been changed. You have been signed out on your other devices.", "パスワードを変更しました。他の端末からはログアウトされました。";
    ChangePasswordButton => "Change password", "パスワードを変更する";
    PasswordChangeNote => "Changing your password signs you out on every other device.", "パスワードを変更すると、他のすべての端末からログアウトされます。";
    SessionsIntro => "These are the devices where you are signed in. End any session you do not recognise, then change your password.", "現在ログインしている端末の一覧です。心当たりのないセッションがあれば終了し、パスワードを変更してください。";
    Device => "Device", "端末（ブラウザ）";
    StartedAt => "Signed in", "ログイン日時";
    LastActive => "Last active", "最終操作";
    ThisSession => "This device", "この端末";
    EndSession => "End", "終了する";
    EndOtherSessions => "Sign out all other devices", "他のすべての端末からログアウト";
    SessionEnded => "The session has ended.", "セッションを終了しました。";
    OthersEnded => "All your other sessions have ended.", "他の端末のセッションをすべて終了しました。";
    UnknownDevice => "Unknown", "不明";
    // Users: sign-in state (IAM-1, IAM-5, IAM-9)
    Locked => "Locked", "ロック中";
    NotSetUp => "Not set up yet", "未設定";
    SignInState => "Sign-in", "ログイン";
    LockedUntil => "Locked after {n} failed sign-ins, until {time}.", "{n}回のログイン失敗により、{time} までロックされています。";
    LockedIndefinitely => "Locked after {n} failed sign-ins, until an administrator unlocks it.", "{n}回のログイン失敗によりロックされています。管理者が解除するまでログインできません。";
    NotLocked => "Not locked.", "ロックされていません。";
    MustChangeNext => "Must choose a new password at the next sign-in.", "次回ログイン時にパスワードの変更が必要です。";
    Unlock => "Unlock", "ロックを解除する";
    NotSetUpHelp => "This user has not chosen a password yet. A new setup link replaces the one sent before.", "このユーザーはまだパスワードを設定していません。新しい設定用リンクを送ると、以前のリンクは使えなくなります。";
    ResendSetupLink => "Send a new setup link", "設定用リンクを再送";
    SetupLinkResent => "A new setup link has been sent.", "設定用リンクを再送しました。";
    ForceLogout => "Sign out everywhere", "強制ログアウト";
    ForceLogoutHelp => "Ends every session of this user at once, on every device.", "このユーザーのすべての端末のセッションを直ちに終了します。";
    ForcedLogoutDone => "The user has been signed out everywhere.", "このユーザーをすべての端末からログアウトさせました。";
    UnlockedDone => "The account has been unlocked.", "ロックを解除しました。";
    MailLanguage => "Language of mail", "メールの言語";
    // Users: import (IAM-1, IAM-8)
    ImportUsers => "Import users", "ユーザーの一括登録";
    ImportIntro => "Paste the CSV exported from your previous system. The first row names the columns, for example:", "以前のシステムから書き出したCSVを貼り付けてください。1行目には次のように列名を記載します。";
    ImportColumns => "Columns: email, display_name, role (a role ID such as editor) — required; language (ja or en) and password_hash — optional. A bcrypt ($2a$, $2b$, $2y$) or Argon2id hash lets the user keep their password (it is upgraded at their next sign-in); without one, the user is invited by mail. Plain passwords are not accepted. At most {max} rows.", "列：email、display_name、role（editor などのロールID）は必須、language（ja または en）と password_hash は任意です。bcrypt（$2a$、$2b$、$2y$）または Argon2id のハッシュがあれば、利用者はこれまでのパスワードでログインできます（次回ログイン時により強いハッシュに更新されます）。ない場合は招待メールを送ります。平文のパスワードは受け付けません。最大{max}行。";
    ImportCsv => "CSV", "CSV";
    ImportPreview => "Check and preview", "確認する";
    ImportLine => "Line", "行";
    ImportAction => "Result of the check", "確認結果";
    ImportKeepHash => "Keeps their password", "既存のパスワードを引き継ぐ";
    ImportInvite => "Invited by mail", "招待メールを送る";
    ImportSummary => "{valid} row(s) can be imported; {invalid} row(s) have problems.", "登録できる行：{valid}件、問題のある行：{invalid}件";
    ImportFixFirst => "Nothing has been imported. Fix the rows below in the file, then check again.", "まだ何も登録されていません。下記の行を修正してから、もう一度確認してください。";
    ImportConfirm => "Import {n} user(s)", "{n}人のユーザーを登録する";
    ImportDone => "The users have been imported.", "ユーザーを一括登録しました。";
    // Security settings (IAM-4, IAM-5, IAM-9)
    NavSettings => "Security settings", "セキュリティ設定";
    SecurityIntro => "These settings apply to every user of this tenant as soon as they are saved. Each change is recorded in the operation log.", "この設定は保存すると直ちに、このテナントのすべてのユーザーに適用されます。変更内容は操作ログに記録されます。";
    GuideLink => "Administrator's guide to these settings", "設定ガイド（管理者向け）";
    PasswordSection => "Passwords", "パスワード";
    MinLengthLabel => "Minimum length", "最小文字数";
    MinLengthHelp => "8 to 128 characters. NIST SP 800-63B asks for at least 8, and 15 where the password is the only factor.", "8〜128文字。NIST SP 800-63Bでは8文字以上（パスワードのみで認証する場合は15文字以上）を求めています。";
    MaxLengthLabel => "Maximum length", "最大文字数";
    MaxLengthHelp => "Up to 128. Long passphrases are safer than short complex passwords.", "128文字まで。短く複雑なパスワードより、長いパスフレーズのほうが安全です。";
    NistMaxLength => "NIST SP 800-63B advises allowing passwords of at least 64 characters.", "NIST SP 800-63Bは、64文字以上のパスワードを許可するよう推奨しています。";
    CompositionLabel => "Required characters", "必須の文字種";
    RequireLower => "Lower-case letter (a–z)", "英小文字（a〜z）";
    RequireUpper => "Upper-case letter (A–Z)", "英大文字（A〜Z）";
    RequireDigit => "Digit (0–9)", "数字（0〜9）";
    RequireSymbol => "Symbol (such as ! # %)", "記号（! # % など）";
    NistComposition => "NIST SP 800-63B advises against composition rules: they lead to predictable passwords such as Password1! without making them harder to guess.", "NIST SP 800-63Bは文字種の強制を推奨していません。Password1! のような予測しやすいパスワードを生むだけで、推測されにくくはならないためです。";
    ExpiryLabel => "Expiry (days)", "有効期限（日数）";
    ExpiryHelp => "30 to 365 days; leave empty for no expiry. Users get a mail 14 and 3 days before.", "30〜365日。空欄の場合は無期限です。期限の14日前と3日前にメールでお知らせします。";
    NistExpiry => "NIST SP 800-63B advises against forced periodic changes: users then choose weaker passwords. Require a change only when a password may have been exposed.", "NIST SP 800-63Bは定期的なパスワード変更の強制を推奨していません。利用者が弱いパスワードを選ぶようになるためです。漏えいのおそれがある場合にのみ変更を求めてください。";
    HistoryLabel => "Previous passwords that cannot be reused", "再利用を禁止する過去のパスワード数";
    HistoryHelp => "0 to 24. A new password may not be any of the user's last N. 0 turns this off.", "0〜24。直近N回に使ったパスワードを再び使えなくします。0の場合は制限しません。";
    BlocklistLabel => "Refuse common and easily guessed passwords", "よく使われる・推測されやすいパスワードを禁止する";
    BlocklistHelp => "Checked offline against a dictionary of common passwords, words and keyboard patterns, and against the tenant's name and the user's address.", "よく使われるパスワード・単語・キーボード配列のパターンの辞書（外部への通信なし）と、テナント名・利用者のメールアドレスに照らして判定します。";
    NistBlocklist => "NIST SP 800-63B requires new passwords to be checked against such a list. Keep this on.", "NIST SP 800-63Bは、このような一覧との照合を必須としています。有効のままにしてください。";
    ChangeAfterAdminLabel => "Users must change a password an administrator sets for them", "管理者が設定したパスワードは、次回ログイン時に変更させる";
    ChangeAfterAdminHelp => "Applies to initial passwords and to resets by an administrator. Passwords printed by kura demo and kura tenant create must always be changed.", "初期パスワードと管理者によるリセットに適用されます。kura demo や kura tenant create が表示するワンタイムパスワードは、常に変更が必要です。";
    LockoutSection => "Account lockout", "アカウントロック";
    LockoutEnabledLabel => "Lock accounts after repeated failed sign-ins", "ログインに繰り返し失敗したアカウントをロックする";
    NistLockout => "NIST SP 800-63B requires limiting consecutive failed attempts (to 100 at most). Without lockout, only the per-address limit below slows guessing down.", "NIST SP 800-63Bは、連続したログイン失敗回数の制限（100回以内）を求めています。ロックを無効にすると、推測を抑えるのは下記のIPアドレス単位の制限だけになります。";
    ThresholdLabel => "Failed sign-ins before locking", "ロックまでの失敗回数";
    ThresholdHelp => "3 to 100 in a row. A successful sign-in starts the count again. Common choices are 3 to 10.", "連続3〜100回。ログインに成功すると回数はリセットされます。一般的には3〜10回です。";
    LockMinutesLabel => "Lock duration (minutes)", "ロック時間（分）";
    LockMinutesHelp => "1 to 10080 minutes. Leave empty to keep the account locked until an administrator unlocks it.", "1〜10080分。空欄の場合は、管理者が解除するまでロックが続きます。";
    ThrottleFailuresLabel => "Failed sign-ins allowed per address", "IPアドレスごとの失敗回数の上限";
    ThrottleFailuresHelp => "5 to 1000 failures from one address, across all accounts, within the window below. Further attempts from that address are refused until the window ends: a defence against password spraying.", "1つのIPアドレスから、全アカウントの合計で下記の時間内に5〜1000回失敗すると、その時間が終わるまでそのアドレスからのログインを拒否します（パスワードスプレー攻撃への対策）。";
    ThrottleWindowLabel => "Counting window (minutes)", "集計時間（分）";
    ThrottleWindowHelp => "1 to 1440 minutes.", "1〜1440分。";
    SessionsSection => "Sessions", "セッション";
    AbsoluteLabel => "Session length (minutes)", "セッションの最大時間（分）";
    AbsoluteHelp => "5 to 10080. A session ends this long after sign-in, however active. 180 = 3 hours.", "5〜10080分。操作中であっても、ログインからこの時間が経つとセッションは終了します。180分＝3時間。";
    IdleLabel => "Idle timeout (minutes)", "無操作タイムアウト（分）";
    IdleHelp => "From 5 minutes up to the session length. A session ends after this long without a request.", "5分からセッションの最大時間まで。この時間操作がないとセッションは終了します。";
    ConcurrentLabel => "Signing in on several devices", "複数端末での同時ログイン";
    ConcurrentAllow => "Allow", "許可する";
    ConcurrentReplace => "Only the newest: a new sign-in ends the others", "最新のみ有効（新しくログインすると他のセッションを終了）";
    ConcurrentRefuse => "Refuse: no second sign-in while a session is active", "拒否（ログイン中は他の端末からログインできない）";
    ConcurrentHelp => "With Refuse, a user who closed the browser without signing out must wait for the idle timeout, or be signed out by an administrator.", "「拒否」の場合、ログアウトせずにブラウザを閉じた利用者は、無操作タイムアウトまで待つか、管理者に強制ログアウトしてもらう必要があります。";
    SecurityEvents => "Recent security events", "最近のセキュリティイベント";
    SecurityEventsHelp => "Locks, unlocks, limited addresses and failed sign-ins are in the operation log:", "ロック・ロック解除・制限されたIPアドレス・ログイン失敗は操作ログで確認できます。";
    // Operation log
    Time => "Time", "日時";
    Actor => "Actor", "実行者";
    IpAddress => "IP address", "IPアドレス";
    Operation => "Operation", "操作";
    Target => "Target", "対象";
    Outcome => "Result", "結果";
    Detail => "Detail", "詳細";
    From => "From", "開始日時";
    To => "Until", "終了日時";
    AllOperations => "All operations", "すべての操作";
    InvalidDateTime => "Enter a date and time.", "日時を正しく入力してください。";
    TimesShownIn => "Times are shown in the tenant's time zone:", "日時はテナントのタイムゾーンで表示しています：";
    Older => "Older entries", "さらに古い記録";
    Newest => "Newest entries", "最新の記録に戻る";
    ActorOperator => "Operator", "運用者";
    ActorApiKey => "API key", "APIキー";
    ActorCli => "Command line", "コマンドライン";
    ActorAnonymous => "Not signed in", "未ログイン";
    // Operator console
    NewTenant => "New tenant", "テナントを作成";
    NoTenantsYet => "There are no tenants yet.", "まだテナントがありません。";
    Tenant => "Tenant", "テナント";
    TenantName => "Tenant name", "テナント名";
    SlugHelp => "Used to sign in, for example acme. 2–40 lowercase letters, digits and hyphens.", "ログイン時に入力するIDです（例：acme）。半角英小文字・数字・ハイフンの2〜40文字。";
    SlugRule => "Use 2–40 lowercase letters, digits and single hyphens, starting with a letter.", "半角英小文字・数字・ハイフンの2〜40文字で、英字から始めてください。";
    TimeZoneHelp => "IANA name. Operation logs are shown in this zone.", "IANA形式で入力してください。操作ログはこのタイムゾーンで表示されます。";
    TimeZoneRule => "Enter an IANA time zone such as Asia/Tokyo.", "Asia/Tokyo のようなIANA形式のタイムゾーンを入力してください。";
    ContractStart => "Contract start", "契約開始日";
    ContractEnd => "Contract end", "契約終了日";
    ContractEndBeforeStart => "The end is before the start.", "終了日が開始日より前になっています。";
    FirstAdmin => "First administrator", "最初の管理者";
    AdminPasswordHelp => "A single-use link to choose a password is mailed to this address.", "このアドレスに、パスワード設定用の一回限りのリンクをメールでお送りします。";
    SetupLinkSent => "A link to choose a password has been mailed to {email}. It works once, for {hours} hours.", "{email} 宛てに、パスワード設定用のリンクをメールで送信しました。リンクは{hours}時間有効で、一度だけ使用できます。";
    SetupLinkHelp => "If the mail does not arrive, check the mail list of this console: a mail that cannot be delivered is shown there.", "メールが届かない場合は、この運用コンソールの「メール送信状況」をご確認ください。送信できなかったメールはそこに表示されます。";
    CreateTenant => "Create tenant", "テナントを作成する";
    TenantCreated => "The tenant has been created.", "テナントを作成しました。";
    ConsoleUrl => "Console URL", "コンソールURL";
    // Operator: mail
    NavMail => "Mail", "メール送信状況";
    MailToFiles => "No SMTP relay is configured: mail is written to files in", "SMTPリレーが設定されていないため、メールは次のフォルダにファイルとして保存されます：";
    MailFailedCount => "{n} mail(s) could not be delivered after every attempt. Check the relay settings, then ask the tenant to send the notice again.", "{n}件のメールは、すべての再試行の後も送信できませんでした。リレーの設定を確認し、テナントに再送を依頼してください。";
    NoMailYet => "No mail has been sent yet.", "まだメールは送信されていません。";
    MailRecipient => "To", "宛先";
    MailSubject => "Subject", "件名";
    MailAttempts => "Attempts", "試行回数";
    MailLastError => "Last error", "直近のエラー";
    MailSent => "Sent", "送信済み";
    MailGivenUp => "Failed", "送信失敗";
    MailPending => "Waiting", "送信待ち";
    MailNextAttempt => "Next attempt:", "次回の再試行：";
    // Error pages
    ErrForbiddenTitle => "Not permitted", "権限がありません";
    ErrForbiddenBody => "You don't have permission to do this.", "この操作を行う権限がありません。";
    ErrNotFoundTitle => "Not found", "ページが見つかりません";
    ErrNotFoundBody => "The page or data you asked for does not exist, or you cannot access it.", "お探しのページまたはデータは存在しないか、アクセスできません。";
    ErrConflictTitle => "Could not complete", "処理できませんでした";
    ErrConflictBody => "The change conflicts with the current data.", "現在のデータと競合するため、処理できませんでした。";
    ErrInvalidTitle => "Invalid input", "入力内容に誤りがあります";
    ErrInvalidBody => "The request could not be accepted. Go back and check your input.", "入力内容を受け付けられませんでした。前の画面に戻って内容をご確認ください。";
    ErrCsrfTitle => "The form has expired", "フォームの有効期限切れ";
    ErrCsrfBody => "For your security the request was refused. Reload the page and try again.", "安全のため、リクエストを受け付けませんでした。ページを再読み込みしてから、もう一度お試しください。";
    ErrTooLargeTitle => "Too much data", "データが大きすぎます";
    ErrTooLargeBody => "The submitted data is too large.", "送信されたデータが大きすぎます。";
    ErrSignInTitle => "Please sign in", "ログインしてください";
    ErrSignInBody => "Your session has ended. Please sign in again.", "セッションが終了しました。もう一度ログインしてください。";
    ErrInternalTitle => "Something went wrong", "エラーが発生しました";
    ErrInternalBody => "The request could not be processed. Please try again later. If it keeps happening, contact support.", "処理中にエラーが発生しました。時間をおいて再度お試しください。解決しない場合はサポートにお問い合わせください。";
}
