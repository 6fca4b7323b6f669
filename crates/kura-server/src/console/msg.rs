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
    FormHasErrors => "Please check the highlighted fields.", "入力内容に誤りがあります。赤く表示された項目をご確認ください。";
    NameRule => "Enter 1 to 200 characters.", "1〜200文字で入力してください。";
    KeyRule => "Use 1–63 lowercase letters, digits and underscores, starting with a letter.", "半角英小文字・数字・アンダースコア（_）の1〜63文字で、英字から始めてください。";
    KeyHelp => "Used in URLs and the API. Lowercase letters, digits and _; cannot be changed later.", "URLやAPIで使われる識別名です。半角英小文字・数字・_ が使えます。後から変更できません。";
    DoneCreated => "Created.", "作成しました。";
    DoneSaved => "Saved.", "保存しました。";
    DoneDeleted => "Deleted.", "削除しました。";
    DoneRevoked => "Revoked.", "失効させました。";
    DoneSuspended => "The tenant has been suspended.", "テナントの利用を停止しました。";
    DoneResumed => "The tenant can be used again.", "テナントの利用を再開しました。";
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
    FirstSteps => "Getting started", "はじめに設定しましょう";
    StepsDone => "{done} of {all} done", "{all}件中{done}件完了";
    StepDone => "Done", "完了";
    StepCollection => "Create a collection", "コレクションを作成する";
    StepCollectionHelp => "Define what you keep, such as a customer list, and its fields.", "顧客名簿など、管理するデータとその項目を定義します。";
    StepInvite => "Invite a user", "ユーザーを招待する";
    StepInviteHelp => "Add the people who work with the data, each with a role that fits their work.", "データを扱うメンバーを追加し、業務に合ったロールを割り当てます。";
    // Users
    NewUser => "New user", "ユーザーを追加";
    NoUsersYet => "There are no users yet.", "まだユーザーがいません。";
    InitialPassword => "Initial password", "初期パスワード";
    InitialPasswordHelp => "At least 8 characters. Leave empty to create the account without a password; the user cannot sign in until one is set.", "8文字以上。空欄の場合はパスワードなしで作成され、設定されるまでログインできません。";
    NewPassword => "New password", "新しいパスワード";
    NewPasswordHelp => "Leave empty to keep the current password.", "変更しない場合は空欄のままにしてください。";
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
    PiiFieldLocked => "Only users with the “See personal information” permission can change this.", "この設定を変更できるのは「個人情報の閲覧」権限を持つユーザーだけです。";
    PiiShort => "Personal info", "個人情報";
    WarnDuplicatesField => "Warn about duplicates", "重複を警告する";
    WarnDuplicatesHelp => "Before a record is saved with a value that another record already has, the user is asked to confirm. For one-line text, email and phone fields.", "ほかのレコードと同じ値で保存しようとしたときに、確認を求めます。1行テキスト・メールアドレス・電話番号の項目で使えます。";
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
    ChoicesHelp => "One per line. To show a different name than the stored value, write value=name, for example premium=Premium. Choice type only.", "1行に1つずつ入力してください。保存する値と表示名を分けるときは「premium=プレミアム」のように「値=表示名」と入力します。「選択肢」の項目のみ。";
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
    NoFieldsForRecords => "This collection has no fields yet. Add fields to define what each record holds, then create records.", "このコレクションにはまだ項目がありません。項目を追加して、レコードに保存する内容を決めましょう。";
    NoMatchingRecords => "No records match these conditions. Change or clear the conditions.", "条件に一致するレコードはありません。条件を変更するか、クリアしてください。";
    SearchRecords => "Search", "キーワード検索";
    SearchPlaceholder => "Words in any field", "いずれかの項目に含まれる語句";
    PerPage => "Per page", "表示件数";
    NRecords => "{n} records", "{n}件";
    FilterExpr => "Filter", "絞り込み条件";
    FilterHelp => "Operators: = != > >= < <= ~ (contains) !~ (does not contain); && (and), || (or). Write text between ' marks.", "使える演算子：= != > >= < <= ~（含む） !~（含まない）、&&（かつ）、||（または）。文字の値は ' で囲みます。";
    ForExample => "Example:", "例：";
    FilterNotApplied => "The records are shown without this filter.", "この条件を外して表示しています。";
    FilterConditions => "Conditions", "絞り込み条件";
    RemoveCondition => "Remove this condition", "この条件を外す";
    ClearConditions => "Remove all conditions", "条件をすべて外す";
    FilterIsAdvanced => "Filtered by a condition written in the advanced filter below.", "下の詳細条件で指定した条件で絞り込んでいます。";
    AddCondition => "Add a condition", "条件を追加";
    BuilderField => "Field", "項目";
    BuilderChangeField => "Change", "変更";
    BuilderOperator => "Condition", "条件";
    BuilderValue => "Value", "値";
    BuilderValueHelp => "Not needed for “is empty” and “is not empty”.", "「空欄」「入力済み」を選んだときは入力不要です。";
    BuilderNext => "Next", "次へ";
    AddThisCondition => "Add condition", "この条件を追加";
    AdvancedFilter => "Advanced filter", "詳細条件（フィルター式）";
    Apply => "Apply", "適用";
    BuilderNoField => "Choose a field from the list.", "項目を一覧から選んでください。";
    BuilderNoOperator => "Choose a condition from the list.", "条件を一覧から選んでください。";
    BuilderNeedsValue => "Enter a value.", "値を入力してください。";
    BuilderNotANumber => "Enter a number, such as 100.", "数値を入力してください（例：100）。";
    BuilderNotADate => "Enter a date, such as 2026-04-01.", "日付を入力してください（例：2026-04-01）。";
    BuilderNotAChoice => "Choose a value from the list.", "値を一覧から選んでください。";
    ChooseColumns => "Columns", "表示する列";
    ChooseOneColumn => "Choose at least one column to show.", "表示する列を1つ以上選んでください。";
    SortBy => "Sort by this column", "この列で並べ替え";
    ShowingRange => "{first}–{last} of {total}", "全{total}件中 {first}〜{last}件を表示";
    PageN => "Page {n}", "{n}ページ目";
    ChooseOne => "Please choose", "選択してください";
    MaskedHelp => "Hidden: personal information", "個人情報のため非表示";
    PiiNotEditable => "Personal information: you do not have permission to see or change it.", "個人情報のため、表示・変更する権限がありません。";
    ThisRecord => "this record", "このレコード";
    Values => "Values", "登録内容";
    NotEntered => "Not entered", "未入力";
    BackToList => "Back to the list", "一覧に戻る";
    RecordCreatedNamed => "“{name}” has been created.", "「{name}」を登録しました。";
    RecordSavedNamed => "Your changes to “{name}” have been saved.", "「{name}」の変更を保存しました。";
    EditRecordNamed => "Edit “{name}”", "「{name}」の編集";
    ChangeHistory => "Change history", "変更履歴";
    HistoryNewest => "The newest {n} of {total} changes", "全{total}件のうち新しい{n}件";
    NoHistory => "No changes are recorded yet.", "変更の記録はまだありません。";
    ChangedFields => "Fields changed", "変更した項目";
    PossibleDuplicate => "A record with the same value may already exist.", "同じ内容のレコードがすでに登録されている可能性があります。";
    SameValueIn => "Same {field} ({n}):", "「{field}」が同じ（{n}件）：";
    SaveAnyway => "Save anyway", "重複を確認のうえ保存する";
    SaveAnywayHelp => "Check the records above. If this is a different person or thing, save anyway.", "上のレコードをご確認ください。別の内容であれば、このまま保存できます。";
    DeleteRecordNote => "The record is deleted with all its values. Its history stays in the operation log. This cannot be undone.", "レコードとその内容はすべて削除されます。操作ログの記録は残ります。この操作は取り消せません。";
    DeleteThisRecord => "Delete this record", "このレコードを削除する";
    DeleteRecord => "Delete record", "レコードの削除";
    ConfirmDeleteRecord => "Delete the record “{name}”?", "レコード「{name}」を削除してもよろしいですか？";
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
    AllOutcomes => "All results", "すべての結果";
    RangeReversed => "The end is before the start. The time range is not applied.", "終了日時が開始日時より前になっています。期間の指定は適用していません。";
    EntriesFound => "{n} entries", "該当 {n}件";
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
    TimeZoneHelp => "Times in the tenant's console and operation log are shown in this zone.", "テナントのコンソールと操作ログの日時は、このタイムゾーンで表示されます。";
    TimeZoneRule => "Choose a time zone from the list.", "タイムゾーンを一覧から選んでください。";
    ContractStart => "Contract start", "契約開始日";
    ContractEnd => "Contract end", "契約終了日";
    ContractEndBeforeStart => "The end is before the start.", "終了日が開始日より前になっています。";
    ContractHelp => "The tenant's people can sign in from the start date through the end date (in the tenant's time zone). Leave a date empty for no limit.", "テナントの利用者は、契約開始日から契約終了日まで（テナントのタイムゾーンの日付で）ログインできます。空欄の場合は期限なしです。";
    TenantSettings => "Settings", "テナント設定";
    TenantActive => "Active", "利用中";
    TenantSuspended => "Suspended", "停止中";
    SuspendTenant => "Suspend this tenant", "テナントの利用を停止する";
    SuspendHelp => "While suspended, none of the tenant's users can sign in, their sessions stop working and its API keys are refused. Its data is kept, and you can resume it at any time.", "停止中は、このテナントのユーザーはログインできず、ログイン中のセッションとAPIキーも利用できなくなります。データはそのまま保持され、いつでも再開できます。";
    ConfirmSuspend => "Suspend the tenant “{name}”?", "テナント「{name}」の利用を停止してもよろしいですか？";
    ResumeTenant => "Resume this tenant", "テナントの利用を再開する";
    ResumeHelp => "The tenant is suspended: its users cannot sign in. Resume it to let them sign in again.", "このテナントは停止中のため、ユーザーはログインできません。再開すると再びログインできるようになります。";
    PublicUrlHelp => "Built from the address of this page. Set public_url in the configuration to give the address users reach Kura by.", "この画面のアドレスから作成しています。利用者向けのアドレスは、設定の public_url で指定できます。";
    FirstAdmin => "First administrator", "最初の管理者";
    AdminPasswordHelp => "An initial password is generated and shown once after creation.", "初期パスワードは自動で生成され、作成後に一度だけ表示されます。";
    CreateTenant => "Create tenant", "テナントを作成する";
    TenantCreated => "The tenant has been created.", "テナントを作成しました。";
    PasswordShownOnce => "The initial password is shown only on this page. Hand it to the administrator by a secure channel now.", "初期パスワードはこの画面でのみ表示されます。今すぐ安全な方法で管理者にお渡しください。";
    ConsoleUrl => "Console URL", "コンソールURL";
    PasswordHandoverHelp => "The administrator signs in with the tenant ID, email address and this password.", "管理者は、テナントID・メールアドレス・このパスワードでログインします。";
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
    ErrMethodTitle => "Not available this way", "この方法では利用できません";
    ErrMethodBody => "This page cannot be used this way. Go back and use the links and buttons on the page.", "このページはこの方法では利用できません。前の画面に戻り、画面上のリンクやボタンからお進みください。";
    ErrUriTitle => "The address is too long", "アドレスが長すぎます";
    ErrUriBody => "The address of this request is too long to be processed. Shorten the search conditions and try again.", "リクエストのアドレスが長すぎるため処理できません。検索条件を短くして、もう一度お試しください。";
    ErrSignInTitle => "Please sign in", "ログインしてください";
    ErrSignInBody => "Your session has ended. Please sign in again.", "セッションが終了しました。もう一度ログインしてください。";
    UnexplainedRefusal => "The request could not be accepted. Check your input and try again.", "この内容では処理できませんでした。入力内容をご確認のうえ、もう一度お試しください。";
    ErrInternalTitle => "Something went wrong", "エラーが発生しました";
    ErrInternalBody => "The request could not be processed. Please try again later. If it keeps happening, contact support.", "処理中にエラーが発生しました。時間をおいて再度お試しください。解決しない場合はサポートにお問い合わせください。";
}
