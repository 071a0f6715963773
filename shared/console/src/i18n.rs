//! The console's words in English and Chinese. The language is the one chosen (a cookie), else the
//! browser's (`Accept-Language`).
use axum::http::{HeaderMap, header};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    pub fn parse(raw: &str) -> Self {
        if raw.trim().to_ascii_lowercase().starts_with("zh") {
            Self::Zh
        } else {
            Self::En
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh",
        }
    }

    /// The chosen language, else the browser's first preference we speak.
    pub fn of(headers: &HeaderMap) -> Self {
        if let Some(chosen) = crate::cookies::cookie(headers, crate::cookies::LANG_COOKIE) {
            return Self::parse(chosen);
        }
        let accepted = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        accepted
            .split(',')
            .map(|tag| {
                tag.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .find(|tag| tag.starts_with("zh") || tag.starts_with("en"))
            .map(|tag| Self::parse(&tag))
            .unwrap_or_default()
    }

    pub fn text(self, key: &str) -> Option<&'static str> {
        TEXTS
            .binary_search_by(|(k, _, _)| (*k).cmp(key))
            .ok()
            .map(|i| match self {
                Self::En => TEXTS[i].1,
                Self::Zh => TEXTS[i].2,
            })
    }
}

/// (key, English, Chinese), sorted by key (a test checks).
static TEXTS: &[(&str, &str, &str)] = &[
    ("action_delete", "Delete", "删除"),
    ("action_disable", "Disable", "停用"),
    ("action_enable", "Enable", "启用"),
    ("action_push", "Push now", "立即推送"),
    ("action_test", "Test", "推送测试"),
    ("actions", "Actions", "操作"),
    ("add_chart", "Add a chart", "添加图表"),
    ("agent_id", "AgentId", "AgentId"),
    ("alarm", "Alarm the owner", "告警通知负责人"),
    (
        "alarm_robot",
        "Alarm robot (WeCom group robot key or webhook URL)",
        "告警机器人（企业微信群机器人 key 或 Webhook 地址）",
    ),
    ("alarms", "Alarms", "告警"),
    ("answer", "Provider's answer", "服务商返回"),
    ("any", "Any", "全部"),
    ("api_key", "API key", "API 密钥"),
    ("api_keys", "API keys", "API 密钥"),
    ("app_id", "App ID", "App ID"),
    ("app_key", "AppKey (Client ID)", "AppKey（Client ID）"),
    ("at", "At (HH:MM)", "时间（HH:MM）"),
    ("at_time", "Time", "时间"),
    ("attachments", "Attach the rows read", "附带数据文件"),
    (
        "attachments_charts",
        "Charts attached (names, comma-separated; empty: all)",
        "附带的图表（名称，逗号分隔；留空为全部）",
    ),
    ("attachments_none", "None", "不附带"),
    ("attachments_rows", "Rows per chart", "每个图表的行数"),
    ("attachments_sent", "Files attached", "附件"),
    ("attempts", "Attempts", "尝试次数"),
    ("back", "Back", "返回"),
    ("basics", "Task", "任务"),
    ("beginning", "Text before the report", "开头文字"),
    ("calendar", "Working days", "工作日历"),
    (
        "calendar_cn-workdays",
        "Mainland China working days (holidays off, make-up days on)",
        "中国大陆工作日（节假日休息，调休上班）",
    ),
    (
        "calendar_none",
        "Every day the schedule names",
        "按计划的每一天",
    ),
    ("cancel", "Cancel", "取消"),
    ("channel", "Channel", "推送渠道"),
    ("channel_dingtalk", "DingTalk", "钉钉"),
    ("channel_email", "E-mail", "邮件"),
    ("channel_feishu", "Feishu", "飞书"),
    ("channel_wecom", "WeCom", "企业微信"),
    ("channels", "Channels", "渠道"),
    ("chart", "Chart", "图表"),
    ("chart_access_error", "unreadable", "读取失败"),
    ("chart_empty", "empty", "无数据"),
    ("chart_name", "Chart name", "图表名称"),
    ("chart_ok", "ok", "正常"),
    (
        "chart_query",
        "Query (JSON) in the source",
        "数据源中的查询（JSON）",
    ),
    ("chart_shape_error", "wrong shape", "数据格式不符"),
    (
        "chart_source",
        "Source (or a public data URL below)",
        "数据源（或在下方填写公开的数据地址）",
    ),
    ("charts", "Charts", "图表"),
    ("code", "code", "错误码"),
    ("conditions", "Push only when (alerts)", "推送条件（告警）"),
    (
        "conditions_help",
        "One rule per line, as JSON: {\"chart\": \"GMV\", \"field\": \"gmv\", \"op\": \"<\", \"value\": 1000000}, {\"chart\": \"GMV\", \"change\": \"<\", \"percent\": -10}, {\"chart\": \"Errors\", \"rows\": \">\", \"value\": 0} or {\"changed_since_last_push\": true}. Empty: always push. A scheduled run whose conditions do not hold sends nothing and is recorded as skipped.",
        "每行一条规则（JSON）：{\"chart\": \"GMV\", \"field\": \"gmv\", \"op\": \"<\", \"value\": 1000000}、{\"chart\": \"GMV\", \"change\": \"<\", \"percent\": -10}、{\"chart\": \"Errors\", \"rows\": \">\", \"value\": 0} 或 {\"changed_since_last_push\": true}。留空则总是推送。条件不满足时，定时推送不发送，记录为已跳过。",
    ),
    ("conditions_when_all", "All rules hold", "全部规则满足"),
    ("conditions_when_any", "Any rule holds", "任一规则满足"),
    ("confirm", "Confirm", "确认"),
    (
        "confirm_delete",
        "Delete “{name}”? Its records stay.",
        "删除“{name}”？推送记录会保留。",
    ),
    (
        "confirm_delete_contact",
        "Delete contact “{name}”? Tasks naming them no longer reach them.",
        "删除联系人“{name}”？引用他的任务将不再送达。",
    ),
    (
        "confirm_delete_source",
        "Delete the source {name}? Tasks that read from it must be changed first.",
        "删除数据源 {name}？读取它的任务需要先修改。",
    ),
    (
        "confirm_disable",
        "Disable “{name}”? It will not run until enabled again.",
        "停用“{name}”？重新启用前不会再推送。",
    ),
    (
        "confirm_push",
        "Push “{name}” now to {people} recipients and {groups} groups?",
        "立即推送“{name}”给 {people} 位接收人和 {groups} 个群组？",
    ),
    (
        "confirm_revoke",
        "Revoke key {id}? Everyone using it is signed out at once.",
        "吊销密钥 {id}？使用它的人会立即退出。",
    ),
    ("conflict", "Changed by someone else", "已被他人修改"),
    (
        "conflict_reload",
        "Someone else saved this task after you opened it. Reload it to see their changes, then edit again.",
        "你打开后，有人保存了这个任务。请重新加载查看对方的修改，再编辑。",
    ),
    ("contact_dingtalk_user", "DingTalk userid", "钉钉 userid"),
    ("contact_email", "E-mail", "邮箱"),
    ("contact_feishu_open_id", "Feishu open_id", "飞书 open_id"),
    ("contact_id", "Contact id", "联系人 ID"),
    ("contact_mobile", "Mobile", "手机号"),
    ("contact_wecom_user", "WeCom user id", "企业微信账号"),
    ("contacts", "Contacts", "联系人"),
    (
        "contacts_hint",
        "Tasks and ticket rules name people by contact id; each is reached on every channel they have an address for.",
        "推送任务和工单规则用联系人 ID 指定接收人；系统会通过其拥有地址的每个渠道送达。",
    ),
    ("content", "Content", "推送内容"),
    ("corp_id", "CorpID", "企业 ID（CorpID）"),
    ("create_key", "Create key", "创建密钥"),
    ("created", "Created", "创建时间"),
    ("cron", "Cron expression", "Cron 表达式"),
    ("data_url", "Data URL", "数据地址"),
    ("day_fri", "Fri", "周五"),
    ("day_mon", "Mon", "周一"),
    (
        "day_of_month",
        "Day of month (1-31 or last)",
        "每月第几天（1-31 或 last）",
    ),
    ("day_sat", "Sat", "周六"),
    ("day_sun", "Sun", "周日"),
    ("day_thu", "Thu", "周四"),
    ("day_tue", "Tue", "周二"),
    ("day_wed", "Wed", "周三"),
    ("days", "Days", "星期"),
    ("deliveries", "Deliveries", "投递"),
    ("delivery_dead", "failed", "失败"),
    ("delivery_delivered", "delivered", "已送达"),
    ("delivery_queued", "queued", "排队中"),
    ("delivery_sending", "sending", "发送中"),
    ("details", "Details", "查看详情"),
    (
        "dingtalk_advice",
        "A DingTalk internal app (企业内部应用) with the permission to send work notices; its AgentId is on the app's page. Group robots are set per task.",
        "需要一个具备“工作通知”发送权限的钉钉企业内部应用，AgentId 在应用详情页。群机器人在每个任务中单独填写。",
    ),
    (
        "dingtalk_robots_hint",
        "One group a line: its name, “=”, the robot's access_token or webhook URL, then its secret (SEC…) after a space if the robot signs. Each group gets the figures with the page picture (set the URL prefix in General so the picture can be shown). “= set” keeps a stored robot.",
        "每行一个群：群名称、“=”、机器人的 access_token 或 Webhook 地址，若开启加签再空格加密钥（SEC…）。每个群会收到数据摘要和页面截图（截图需先在“通用”中设置链接前缀）。“= set”表示沿用已保存的机器人。",
    ),
    ("display", "Shown as", "展示方式"),
    ("display_area", "Area", "面积图"),
    ("display_auto", "Automatic", "自动"),
    ("display_bar", "Bars", "柱状图"),
    ("display_combo", "Bars and a line", "柱线组合图"),
    ("display_count", "Row count", "行数"),
    ("display_donut", "Donut", "环形图"),
    ("display_funnel", "Funnel", "漏斗图"),
    ("display_kpi", "KPI", "指标卡"),
    ("display_line", "Line", "折线图"),
    ("display_pie", "Pie", "饼图"),
    ("display_stacked_bar", "Stacked bars", "堆叠条形图"),
    ("display_table", "Table", "表格"),
    ("duration", "Duration", "耗时"),
    ("edit", "Edit", "编辑"),
    ("edit_contact", "Edit contact", "编辑联系人"),
    ("edit_source", "Edit source", "编辑数据源"),
    ("edit_task", "Edit push task", "编辑推送任务"),
    ("enabled", "Enabled", "启用"),
    (
        "encrypted",
        "Confidential (safe=1: no forwarding, watermark)",
        "保密消息（safe=1：不可转发，带水印）",
    ),
    ("ending", "Text after the report", "结尾文字"),
    ("error", "Error", "错误"),
    ("every", "Runs", "推送周期"),
    ("every_cron", "Cron", "Cron"),
    ("every_day", "Every day", "每天"),
    ("every_hour", "Every hour", "每小时"),
    ("every_month", "Every month", "每月"),
    ("every_week", "Every week", "每周"),
    (
        "exception_access_error",
        "When charts cannot be read",
        "图表读取失败时",
    ),
    ("exception_control", "Exception control", "异常控制"),
    ("exception_empty", "When charts are empty", "图表无数据时"),
    ("failed", "Failed", "失败"),
    (
        "failure_limit",
        "Stop after this many failed runs in a row",
        "连续失败多少次后自动停止",
    ),
    ("failures", "Failures", "连续失败"),
    (
        "field_compare",
        "Previous value key (KPI)",
        "对比值字段（指标卡）",
    ),
    ("field_formats", "Number formats", "数字格式"),
    (
        "field_formats_hint",
        "key: words, separated by “;”. % a percentage (0.073 → 7.3%), CNY/USD/EUR/HKD/JPY/GBP money, a number the decimals, a word in double quotes the unit: gmv: CNY; rate: % 1; cost: \"ms\"",
        "字段: 格式，用“;”分隔。% 表示百分比（0.073 → 7.3%），CNY/USD/EUR/HKD/JPY/GBP 表示金额，数字为小数位数，双引号中的词为单位：gmv: CNY; rate: % 1; cost: \"ms\"",
    ),
    ("field_label", "Label key", "标签字段"),
    (
        "field_thresholds",
        "Cell colours (tables)",
        "单元格颜色（表格）",
    ),
    (
        "field_thresholds_hint",
        "key, comparison, number, colour, separated by “;” (the first rule met wins): rate < 0.05 red; rate >= 0.1 green. Colours: red, orange, green, grey.",
        "字段、比较、数值、颜色，用“;”分隔（先满足的规则生效）：rate < 0.05 red; rate >= 0.1 green。颜色：red、orange、green、grey。",
    ),
    (
        "field_values",
        "Value keys (comma separated)",
        "数值字段（逗号分隔）",
    ),
    ("filter", "Filter", "筛选"),
    ("filters", "Filters", "筛选条件"),
    (
        "find_charts",
        "List the sources' charts",
        "列出数据源中的图表",
    ),
    ("finished", "Finished", "结束时间"),
    (
        "first_admin_key",
        "The first admin key (from configuration) is not listed and cannot be revoked here.",
        "首个管理员密钥（来自配置）不在列表中，也无法在此吊销。",
    ),
    (
        "flash_contact_deleted",
        "Contact deleted.",
        "联系人已删除。",
    ),
    ("flash_contact_saved", "Contact saved.", "联系人已保存。"),
    ("flash_created", "Task created.", "任务已创建。"),
    ("flash_deleted", "Task deleted.", "任务已删除。"),
    ("flash_disabled", "Task disabled.", "任务已停用。"),
    ("flash_enabled", "Task enabled.", "任务已启用。"),
    ("flash_key_revoked", "Key revoked.", "密钥已吊销。"),
    ("flash_pushed", "Push started.", "已开始推送。"),
    (
        "flash_report_source_saved",
        "Source saved.",
        "数据源已保存。",
    ),
    ("flash_saved", "Task saved.", "任务已保存。"),
    ("flash_settings_saved", "Settings saved.", "设置已保存。"),
    ("flash_source_deleted", "Source deleted.", "数据源已删除。"),
    (
        "flash_source_saved",
        "Webhook source saved.",
        "Webhook 来源已保存。",
    ),
    (
        "flash_tested",
        "Test push sent to the owner.",
        "测试推送已发给负责人。",
    ),
    ("from", "From", "开始时间"),
    ("general", "General", "通用"),
    ("group_robot", "Group robot", "群机器人"),
    ("herald", "Herald", "Herald"),
    ("home", "Home", "首页"),
    ("host", "SMTP host", "SMTP 服务器"),
    ("import_dashboard", "Import dashboard", "导入仪表盘"),
    ("import_dashboard_id", "Dashboard id", "仪表盘 ID"),
    ("import_source", "Dashboard's source", "仪表盘所在的数据源"),
    (
        "imported_charts",
        "Charts imported from the dashboard (check them, then save):",
        "已从仪表盘导入的图表（检查后保存）：",
    ),
    ("key_created", "Key created", "密钥已创建"),
    (
        "key_shown_once",
        "Copy it now: it is shown this once and stored only as a hash.",
        "请立即复制：密钥只显示这一次，系统只保存其哈希。",
    ),
    ("keys", "Keys", "密钥"),
    ("kind", "Kind", "类型"),
    ("kind_manual", "Manual", "手动推送"),
    ("kind_scheduled", "Scheduled", "定时推送"),
    ("kind_test", "Test", "推送测试"),
    ("kind_ticket", "Ticket", "工单"),
    ("language_auto", "From the page title", "按页面标题"),
    ("language_en", "English", "英文"),
    ("language_zh", "Chinese", "中文"),
    ("last_run", "Last run", "上次推送"),
    (
        "list_hint",
        "One per line (or separated by commas).",
        "每行一个（或用逗号分隔）。",
    ),
    ("logs", "Logs", "日志"),
    ("mail_from", "From address", "发件人"),
    ("main_menu", "Main menu", "主菜单"),
    ("max_rows", "Rows shown", "显示行数"),
    ("message", "Message", "消息"),
    ("message_as_sent", "The message as sent", "发出的消息"),
    ("message_language", "Message language", "消息语言"),
    ("message_push", "Message push", "消息推送"),
    ("minute", "Minute of the hour", "第几分钟"),
    ("more", "More", "更多"),
    (
        "more_deliveries",
        "{n} more deliveries are counted above.",
        "另有 {n} 条投递已计入上方统计。",
    ),
    ("name", "Name", "名称"),
    ("new_contact", "New contact", "新建联系人"),
    ("new_key", "New key", "新建密钥"),
    ("new_source", "New source", "新建数据源"),
    ("new_task", "New push task", "新建推送任务"),
    ("next_run", "Next run", "下次推送"),
    (
        "next_runs",
        "Next runs (task's zone, then yours)",
        "接下来的推送（任务时区 / 你的时区）",
    ),
    ("no_contacts", "No contacts yet.", "暂无联系人。"),
    ("no_keys", "No keys yet.", "暂无密钥。"),
    ("no_records", "No records yet.", "暂无推送记录。"),
    (
        "no_report_sources",
        "No sources yet: charts read public JSON only.",
        "暂无数据源：图表只能读取公开的 JSON。",
    ),
    (
        "no_sources",
        "No webhook sources yet.",
        "暂无 Webhook 来源。",
    ),
    ("no_tasks", "No push tasks yet.", "暂无推送任务。"),
    ("not_allowed", "Not allowed", "无权操作"),
    ("not_found", "Not found", "未找到"),
    ("open", "Open", "打开"),
    ("open_project", "Open a project", "打开项目"),
    ("outcome", "Outcome", "结果"),
    ("outcome_delivered", "Delivered", "推送成功"),
    ("outcome_failed", "Failed", "推送失败"),
    (
        "outcome_partially_delivered",
        "Partly delivered",
        "部分成功",
    ),
    ("outcome_paused", "Paused", "已暂停"),
    ("outcome_sending", "Sending", "推送中"),
    ("outcome_skipped", "Skipped", "已跳过"),
    (
        "owner",
        "Owner (gets tests and alarms)",
        "负责人（接收测试和告警）",
    ),
    ("owner_contact", "Contact id", "联系人 ID"),
    ("owner_dingtalk_user", "DingTalk user id", "钉钉 userid"),
    ("owner_email", "E-mail", "邮箱"),
    ("owner_feishu_user", "Feishu open_id", "飞书 open_id"),
    ("owner_wecom_user", "WeCom user id", "企业微信账号"),
    ("page", "Report page", "报表页面"),
    ("page_title", "Page title", "页面标题"),
    ("pause", "Pause the push", "暂停推送"),
    ("port", "Port", "端口"),
    ("preview", "Preview", "预览"),
    ("previous_value", "previous", "上期"),
    ("project", "Project", "项目"),
    ("projects", "Projects", "项目"),
    ("provider", "Provider", "服务商"),
    ("provider_answer", "Provider's answer", "服务商返回"),
    (
        "proxy",
        "Proxy for WeCom calls (optional)",
        "企业微信调用代理（可选）",
    ),
    ("range_fully", "all charts", "全部图表"),
    ("range_partially", "some charts", "部分图表"),
    ("reason", "Reason", "原因"),
    ("recipients", "Recipients", "接收人"),
    ("recipients_contacts", "Contacts (ids)", "联系人（ID）"),
    (
        "recipients_dingtalk_robots",
        "DingTalk groups (through their custom robots)",
        "钉钉群（通过自定义机器人）",
    ),
    (
        "recipients_dingtalk_users",
        "DingTalk user ids (work notices)",
        "钉钉 userid（工作通知）",
    ),
    ("recipients_emails", "E-mail addresses", "邮箱地址"),
    (
        "recipients_feishu_chats",
        "Feishu group chat ids (oc_…; the app's bot must be in the chat)",
        "飞书群 chat_id（oc_…，需已把应用机器人拉进群）",
    ),
    ("recipients_feishu_users", "Feishu open_ids", "飞书 open_id"),
    (
        "recipients_wecom_parties",
        "WeCom departments",
        "企业微信部门",
    ),
    (
        "recipients_wecom_robots",
        "WeCom groups (through their group robots)",
        "企业微信群（通过群机器人）",
    ),
    ("recipients_wecom_tags", "WeCom tags", "企业微信标签"),
    ("recipients_wecom_users", "WeCom user ids", "企业微信账号"),
    ("record", "Record", "推送记录"),
    ("records", "Push records", "推送记录"),
    ("refresh", "Refresh", "刷新"),
    ("reload", "Reload", "重新加载"),
    ("revoke", "Revoke", "吊销"),
    (
        "robot_set",
        "A robot is set: leave “set” to keep it, clear the field to remove it.",
        "已设置机器人：保留“set”即不变，清空则移除。",
    ),
    ("role", "Role", "角色"),
    ("role_admin", "Admin", "管理员"),
    ("role_editor", "Editor", "编辑者"),
    ("role_viewer", "Viewer", "只读"),
    ("rows", "rows", "行"),
    (
        "rows_pointer",
        "Rows (JSON Pointer)",
        "数据行（JSON Pointer）",
    ),
    ("rows_read", "Rows read", "读取的数据"),
    ("sandbox_empty", "Nothing yet.", "暂无消息。"),
    (
        "sandbox_hint",
        "herald-local runs with its sandbox on: WeCom, Feishu and e-mail go to built-in fakes, and here is what they received (newest first).",
        "herald-local 开启了沙箱：企业微信、飞书和邮件都发到内置的模拟服务，这里是它们收到的消息（最新在前）。",
    ),
    ("sandbox_inbox", "Sandbox inbox", "沙箱收件箱"),
    ("save", "Save", "保存"),
    ("schedule", "Schedule", "推送时间"),
    ("scheduled", "Scheduled for", "计划时间"),
    ("scheduled_started", "Scheduled / started", "计划 / 开始"),
    ("secret_app_secret", "App Secret", "App Secret"),
    ("secret_corp_secret", "App Secret", "应用 Secret"),
    (
        "secret_is_set",
        "set — type to replace",
        "已设置——输入即替换",
    ),
    (
        "secret_keep",
        "Set. Leave empty to keep it.",
        "已设置。留空则不变。",
    ),
    (
        "secret_kept",
        "(kept: type to replace)",
        "（已保存：输入以替换）",
    ),
    ("secret_not_set", "Not set.", "未设置。"),
    (
        "secret_password",
        "Password / authorization code",
        "密码 / 授权码",
    ),
    ("security", "Security", "加密方式"),
    ("send_test", "Send a test message", "发送测试消息"),
    ("settings", "Settings", "系统设置"),
    ("share_link", "Link to the page", "附页面链接"),
    (
        "share_url",
        "Page link (shared in the message)",
        "页面链接（随消息发送）",
    ),
    ("sign_in", "Sign in", "登录"),
    (
        "sign_in_hint",
        "Sign in with your Herald API key. The console keeps you signed in for 12 hours on this browser.",
        "使用 Herald API 密钥登录。此浏览器会保持登录 12 小时。",
    ),
    (
        "sign_in_refused",
        "That key was not accepted.",
        "该密钥无效。",
    ),
    ("sign_out", "Sign out", "退出"),
    ("sign_out_everywhere", "Sign out everywhere", "退出所有设备"),
    ("signing_secret", "Signing secret", "签名密钥"),
    ("skip_to_content", "Skip to content", "跳到正文"),
    ("snapshot", "Page snapshot", "页面截图"),
    ("source", "Source", "来源"),
    ("source_auth", "Sign-in", "登录方式"),
    ("source_auth_api_key", "API key", "API Key"),
    (
        "source_auth_basic",
        "Basic (user and password)",
        "Basic（用户名和密码）",
    ),
    ("source_auth_bearer", "Bearer token", "Bearer Token"),
    ("source_auth_header", "A header", "请求头"),
    ("source_auth_login", "User login", "用户登录"),
    ("source_auth_none", "None", "无"),
    ("source_auth_query", "A query parameter", "查询参数"),
    ("source_base_url", "Address", "地址"),
    (
        "source_header_name",
        "Header or parameter name",
        "请求头或参数名",
    ),
    ("source_kind", "Kind", "类型"),
    ("source_kind_http", "HTTP API", "HTTP 接口"),
    ("source_kind_metabase", "Metabase", "Metabase"),
    ("source_kind_redash", "Redash", "Redash"),
    ("source_kind_superset", "Apache Superset", "Apache Superset"),
    ("source_name", "Name", "名称"),
    (
        "source_private_network",
        "Inside the network (its own host may be a private address)",
        "内网地址（仅允许该数据源自己的主机）",
    ),
    (
        "source_projects",
        "Projects that may use it",
        "可使用的项目",
    ),
    (
        "source_secret",
        "Password, token or key",
        "密码、Token 或 Key",
    ),
    ("source_test_access_error", "Could not be read", "无法读取"),
    ("source_test_empty", "Read: no rows", "已读取：无数据"),
    ("source_test_ok", "Read", "读取成功"),
    ("source_test_query", "Query (JSON)", "查询（JSON）"),
    ("source_username", "User", "用户名"),
    ("sources", "Sources", "数据源"),
    (
        "sources_hint",
        "Where charts read their data behind a login: Superset, Metabase, Redash or a team's own API. Secrets are write-only; a chart names the source and what to read.",
        "图表在登录后读取数据的地方：Superset、Metabase、Redash 或团队自己的接口。密钥只写不读；图表指定数据源和要读取的内容。",
    ),
    ("start_date", "Start date", "开始日期"),
    ("started", "Started", "开始时间"),
    ("state", "State", "状态"),
    ("state_disabled", "Disabled", "已停用"),
    ("state_enabled", "Enabled", "已启用"),
    ("state_stopped", "Stopped after failures", "失败后已停止"),
    ("still_sending", "Still sending.", "仍在推送。"),
    ("task", "Task", "任务"),
    ("task_id", "Task id", "任务 ID"),
    ("tasks", "Push tasks", "推送任务"),
    ("template", "Template", "消息模板"),
    ("template_card", "Card", "卡片"),
    ("template_markdown", "Markdown", "Markdown"),
    ("template_text", "Text", "纯文本"),
    ("test", "Test", "测试"),
    ("test_channel", "Test", "测试"),
    ("test_delivered", "Delivered.", "发送成功。"),
    ("test_email", "…or e-mail", "…或邮箱"),
    ("test_failed", "Not delivered.", "发送失败。"),
    (
        "test_form",
        "Test (what the form holds, to the owner)",
        "推送测试（按当前表单，发给负责人）",
    ),
    ("test_mobile", "Mobile number", "手机号"),
    (
        "test_pending",
        "No answer yet: still sending.",
        "尚无返回：仍在发送。",
    ),
    (
        "test_to_dingtalk",
        "Send to (DingTalk user id)",
        "接收账号（钉钉 userid）",
    ),
    ("test_to_smtp", "Send to (e-mail)", "收件邮箱"),
    (
        "test_to_wecom",
        "Send to (WeCom user id)",
        "接收账号（企业微信）",
    ),
    ("ticket", "Ticket", "工单"),
    ("timezone", "Time zone", "时区"),
    ("to", "To", "接收人"),
    (
        "trusted_ip_advice",
        "WeCom accepts calls only from the app's trusted IPs (企业可信IP): give the proxy's or NAT gateway's fixed IP there, or every call fails with 60020.",
        "企业微信只接受来自应用“企业可信IP”的调用：请在那里填写代理或 NAT 网关的固定 IP，否则调用会返回 60020。",
    ),
    ("url_prefix", "Ticket link prefix", "工单链接前缀"),
    (
        "url_prefix_hint",
        "Ticket notifications link to {prefix}/projects/{project}/tickets/{id}; DingTalk group messages show the page picture from {prefix}/v1/snapshots/….",
        "工单通知链接到 {prefix}/projects/{project}/tickets/{id}；钉钉群消息中的页面截图来自 {prefix}/v1/snapshots/…。",
    ),
    ("username", "User name", "用户名"),
    ("webhook_sources", "Webhook sources", "Webhook 来源"),
    (
        "webhook_sources_hint",
        "Each source signs its ticket webhooks with its own secret (HMAC-SHA256).",
        "每个来源用自己的密钥（HMAC-SHA256）签名工单 Webhook。",
    ),
    (
        "wecom_robots_hint",
        "One group a line: its name, “=”, then the robot's key or webhook URL. Each group gets the page picture and the figures. “= set” keeps a stored robot.",
        "每行一个群：群名称、“=”，再填群机器人的 key 或 Webhook 地址。每个群会收到页面截图和数据摘要。“= set”表示沿用已保存的机器人。",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_every_key_has_both_languages() {
        for pair in TEXTS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (key, en, zh) in TEXTS {
            assert!(!en.is_empty() && !zh.is_empty(), "{key}");
        }
        assert_eq!(Lang::Zh.text("tasks"), Some("推送任务"));
        assert_eq!(Lang::En.text("nothing"), None);
    }

    #[test]
    fn the_browser_language_is_used_unless_one_was_chosen() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "fr-FR,zh-CN;q=0.8,en;q=0.5".parse().unwrap(),
        );
        assert_eq!(Lang::of(&headers), Lang::Zh);
        headers.insert(header::COOKIE, "herald_lang=en".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::En);
    }
}
