use herald_fakes::{
    FakeFeishu, FakeWecom, FeishuConfig, FeishuUser, WecomConfig, feishu_router, serve,
    wecom_router,
};
use serde_json::{Value, json};

pub const CORP: &str = "ww_corp";
pub const SECRET: &str = "corp-secret";
pub const AGENT: i64 = 1_000_002;
pub const ROBOT_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

pub struct Wecom {
    pub fake: FakeWecom,
    pub base: String,
    pub http: reqwest::Client,
}

pub async fn wecom() -> Wecom {
    let config = WecomConfig::new(CORP, SECRET, AGENT)
        .with_app("other-secret", 1_000_003)
        .with_users(["alice", "bob", "Carol"])
        .with_robot_key(ROBOT_KEY);
    let fake = FakeWecom::new(config);
    let (base, _server) = serve(wecom_router(fake.clone())).await.expect("serve");
    Wecom {
        fake,
        base,
        http: reqwest::Client::new(),
    }
}

impl Wecom {
    pub async fn get(&self, path_and_query: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("json")
    }

    pub async fn token(&self) -> String {
        let body = self
            .get(&format!(
                "/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}"
            ))
            .await;
        assert_eq!(body["errcode"], 0, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn send_raw(&self, token: &str, body: &Value) -> Value {
        let url = format!("{}/cgi-bin/message/send?access_token={token}", self.base);
        let resp = self.http.post(url).json(body).send().await.expect("send");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("json")
    }

    pub async fn send(&self, body: &Value) -> Value {
        let token = self.token().await;
        self.send_raw(&token, body).await
    }

    pub async fn robot(&self, key: &str, body: &Value) -> Value {
        let url = format!("{}/cgi-bin/webhook/send?key={key}", self.base);
        let resp = self.http.post(url).json(body).send().await.expect("robot");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("json")
    }
}

pub fn text_to(touser: &str, content: &str) -> Value {
    json!({"touser": touser, "msgtype": "text", "agentid": AGENT, "text": {"content": content}})
}

/// Asserts WeCom's errmsg format for `code` and returns the errmsg.
pub fn assert_wecom_error(body: &Value, code: i64, text: &str) {
    assert_eq!(body["errcode"], code, "{body}");
    let msg = body["errmsg"].as_str().expect("errmsg");
    assert!(msg.starts_with(&format!("{text}, hint: [")), "{msg}");
    assert!(
        msg.contains("], from ip: 127.0.0.1, more info at "),
        "{msg}"
    );
    assert!(
        msg.ends_with(&format!(
            "https://open.work.weixin.qq.com/devtool/query?e={code}"
        )),
        "{msg}"
    );
}

pub const APP_ID: &str = "cli_a1b2";
pub const APP_SECRET: &str = "app-secret";

pub struct Feishu {
    pub fake: FakeFeishu,
    pub base: String,
    pub http: reqwest::Client,
}

pub fn feishu_config() -> FeishuConfig {
    FeishuConfig::new(APP_ID, APP_SECRET)
        .with_user(
            FeishuUser::new("ou_alice")
                .email("alice@x.com")
                .mobile("13800000001")
                .user_id("u_alice"),
        )
        .with_user(
            FeishuUser::new("ou_bob")
                .email("Bob@x.com")
                .mobile("+8613800000002"),
        )
        .with_user(FeishuUser::new("ou_out").email("out@x.com").unavailable())
        .with_chat("oc_group")
}

pub async fn feishu_with(fake: FakeFeishu) -> Feishu {
    let (base, _server) = serve(feishu_router(fake.clone())).await.expect("serve");
    Feishu {
        fake,
        base,
        http: reqwest::Client::new(),
    }
}

pub async fn feishu() -> Feishu {
    feishu_with(FakeFeishu::new(feishu_config())).await
}

impl Feishu {
    pub async fn token_response(&self, secret: &str) -> (u16, Value) {
        let url = format!(
            "{}/open-apis/auth/v3/tenant_access_token/internal",
            self.base
        );
        let body = json!({"app_id": APP_ID, "app_secret": secret});
        let resp = self.http.post(url).json(&body).send().await.expect("token");
        (resp.status().as_u16(), resp.json().await.expect("json"))
    }

    pub async fn token(&self) -> String {
        let (status, body) = self.token_response(APP_SECRET).await;
        assert_eq!((status, &body["code"]), (200, &json!(0)), "{body}");
        body["tenant_access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// POSTs `body` to `path_and_query` with an optional bearer token.
    pub async fn post(
        &self,
        token: Option<&str>,
        path_and_query: &str,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}{path_and_query}", self.base))
            .json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("post")
    }

    pub async fn post_json(
        &self,
        token: Option<&str>,
        path_and_query: &str,
        body: &Value,
    ) -> (u16, Value) {
        let resp = self.post(token, path_and_query, body).await;
        (resp.status().as_u16(), resp.json().await.expect("json"))
    }

    pub async fn send(&self, token: &str, id_type: &str, body: &Value) -> (u16, Value) {
        self.post_json(
            Some(token),
            &format!("/open-apis/im/v1/messages?receive_id_type={id_type}"),
            body,
        )
        .await
    }
}

pub fn feishu_text(receive_id: &str, text: &str) -> Value {
    json!({"receive_id": receive_id, "msg_type": "text",
           "content": json!({"text": text}).to_string()})
}
