#!/usr/bin/env python3
"""Draws docs/group-messages.png: one push's group message on WeCom, Feishu and DingTalk.

It runs herald-local in sandbox mode (fake providers inside it), serves a small sales page's chart
data on loopback, creates one task per channel that pushes to a group, pushes each once, and takes
what the fake providers received: the WeCom robot's picture (base64) and markdown, the Feishu card
and its uploaded picture, the DingTalk robot's markdown with the picture by its signed link. Each is
laid out the way its client shows a group message (a drawing of the clients' chat, not a screenshot
of the apps) and photographed with headless Chromium.

Usage: cargo build -p herald-local && python3 scripts/docs-group-messages.py [out.png]
"""
import base64
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = "docs-admin-token-0123456789abcdef0123"
CHARTS = {
    "gmv": {"data": {"rows": [{"gmv": 12345678.5, "gmv_prev": 11000000}]}},
    "orders": {"data": {"rows": [{"orders": 48213, "orders_prev": 50112}]}},
    "regions": {"data": {"rows": [
        {"region": "华东", "gmv": 5230000}, {"region": "华北", "gmv": 3100000},
        {"region": "华南", "gmv": 1870000}, {"region": "西南", "gmv": 960000}]}},
    "stores": {"data": {"rows": [
        {"store": "上海静安店", "city": "上海", "orders": 1234},
        {"store": "北京朝阳店", "city": "北京", "orders": 987},
        {"store": "杭州西湖店", "city": "杭州", "orders": 812}]}},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Charts(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(CHARTS.get(self.path.strip("/"), {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def call(base, method, path, body=None, raw=False):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {ADMIN}")
    req.add_header("Content-Type", "application/json")
    if method == "POST" and path.endswith("/push"):
        req.add_header("Idempotency-Key", f"docs-{time.time_ns()}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        payload = resp.read()
    return payload if raw else json.loads(payload or b"null")


def task(chart_base, channel, recipients, owner):
    charts = [
        {"name": "GMV", "data_url": f"{chart_base}/gmv", "rows": "/data/rows", "display": "kpi",
         "fields": {"values": ["gmv"], "compare": "gmv_prev"}},
        {"name": "订单数", "data_url": f"{chart_base}/orders", "rows": "/data/rows",
         "display": "kpi", "fields": {"values": ["orders"], "compare": "orders_prev"}},
        {"name": "各区域 GMV", "data_url": f"{chart_base}/regions", "rows": "/data/rows",
         "display": "bar"},
        {"name": "门店订单 Top 3", "data_url": f"{chart_base}/stores", "rows": "/data/rows",
         "display": "table", "max_rows": 3},
    ]
    return {
        "name": f"销售日报 ({channel})",
        "page": {"title": "销售日报", "share_url": "https://bi.example.com/d/sales", "charts": charts},
        "channel": channel, "template": "card" if channel == "feishu" else "markdown",
        "recipients": recipients, "owner": owner,
        "schedule": {"every": "day", "at": "09:00", "timezone": "Asia/Shanghai"},
        "content": {"beginning": "各位早，昨日数据如下：", "share_link": True},
    }


def markdown_html(text):
    """The markdown subset the three clients show: headings, bold, quotes, links, pictures, font."""
    out = []
    for line in text.split("\n"):
        line = html.escape(line, quote=False)
        line = re.sub(r"!\[[^\]]*\]\(([^)]+)\)", r'<img class="pic" src="\1">', line)
        line = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', line)
        line = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", line)
        line = re.sub(r"&lt;font color=(?:&quot;|'|\")?(\w+)(?:&quot;|'|\")?&gt;(.*?)&lt;/font&gt;",
                      r'<span class="c-\1">\2</span>', line)
        if line.startswith("#"):
            line = "<b class='h'>" + line.lstrip("#").strip() + "</b>"
        elif line.startswith("&gt; "):
            line = "<span class='quote'>" + line[5:] + "</span>"
        out.append(line)
    return "<br>".join(out)


def feishu_card_html(card, picture):
    parts = []
    header = card.get("header", {})
    title = header.get("title", {}).get("content", "")
    parts.append(f"<div class='card-head t-{header.get('template', 'blue')}'>{html.escape(title)}</div>")
    if picture:
        parts.append(f'<img class="pic" src="{picture}">')

    def element(el):
        tag = el.get("tag")
        if tag in ("markdown", "div"):
            content = el.get("content") or el.get("text", {}).get("content", "")
            return f"<div class='md'>{markdown_html(content)}</div>"
        if tag == "column_set":
            cols = "".join(
                "<div class='col'>" + "".join(element(e) for e in c.get("elements", [])) + "</div>"
                for c in el.get("columns", []))
            return f"<div class='cols'>{cols}</div>"
        if tag == "table":
            heads = "".join(f"<th>{html.escape(c.get('display_name', ''))}</th>" for c in el.get("columns", []))
            rows = "".join("<tr>" + "".join(
                f"<td>{html.escape(str(r.get(c['name'], '')))}</td>" for c in el.get("columns", [])) + "</tr>"
                for r in el.get("rows", []))
            return f"<table><tr>{heads}</tr>{rows}</table>"
        if tag == "hr":
            return "<hr>"
        if tag in ("action", "button"):
            buttons = el.get("actions", [el])
            return "".join(f"<span class='btn'>{html.escape(b.get('text', {}).get('content', ''))}</span>" for b in buttons)
        if tag == "note":
            return "<div class='note'>" + " ".join(
                html.escape(e.get("content", "")) for e in el.get("elements", [])) + "</div>"
        return ""

    body = card.get("elements") or card.get("body", {}).get("elements", [])
    parts.extend(element(e) for e in body)
    return "<div class='fcard'>" + "".join(parts) + "</div>"


def chat(app, group, bot, bubbles):
    items = "".join(
        f"<div class='msg'><div class='avatar'>{bot[0]}</div><div><div class='who'>{html.escape(bot)}</div>{b}</div></div>"
        for b in bubbles)
    return f"<section class='chat {app}'><header>{html.escape(group)}</header><div class='pane'>{items}</div></section>"


STYLE = """
body { margin: 0; background: #e9ecef; font: 14px/1.5 "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
.row { display: flex; gap: 16px; padding: 16px; align-items: flex-start; }
.chat { width: 420px; background: #f5f5f5; border-radius: 10px; overflow: hidden; box-shadow: 0 1px 4px #0002; }
.chat header { padding: 10px 14px; font-weight: 600; color: #fff; }
.wecom header { background: #2b77d9; } .feishu header { background: #3370ff; } .dingtalk header { background: #0089ff; }
.pane { padding: 12px; }
.msg { display: flex; gap: 8px; margin-bottom: 12px; }
.avatar { width: 34px; height: 34px; border-radius: 6px; background: #4a90e2; color: #fff; display: flex;
  align-items: center; justify-content: center; flex: none; font-weight: 600; }
.who { font-size: 12px; color: #888; margin-bottom: 2px; }
.bubble, .fcard { background: #fff; border-radius: 6px; padding: 10px 12px; max-width: 340px; word-break: break-word; }
.pic { display: block; max-width: 320px; border-radius: 4px; margin: 4px 0; border: 1px solid #eee; }
.quote { color: #666; border-left: 3px solid #ddd; padding-left: 6px; display: inline-block; }
.h { font-size: 15px; }
.c-comment, .c-grey { color: #999; } .c-warning, .c-orange { color: #f39c12; } .c-info, .c-green { color: #2ea121; } .c-red { color: #d83931; }
.card-head { margin: -10px -12px 8px; padding: 8px 12px; color: #fff; font-weight: 600; border-radius: 6px 6px 0 0; }
.t-blue { background: #3370ff; } .t-orange { background: #ff8800; } .t-red { background: #f54a45; }
.cols { display: flex; gap: 6px; margin: 6px 0; } .col { flex: 1; background: #f2f3f5; border-radius: 4px; padding: 6px; }
table { border-collapse: collapse; margin: 6px 0; font-size: 12px; } td, th { border: 1px solid #e5e6eb; padding: 2px 6px; }
.btn { display: inline-block; border: 1px solid #3370ff; color: #3370ff; border-radius: 4px; padding: 2px 10px; margin-top: 6px; }
.note { color: #999; font-size: 12px; } a { color: #3370ff; text-decoration: none; }
"""


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "group-messages.png")
    binary = os.path.join(ROOT, "target", "debug", "herald-local")
    chart_port, port = free_port(), free_port()
    server = ThreadingHTTPServer(("127.0.0.1", chart_port), Charts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp(prefix="herald-docs-")
    env = dict(os.environ, HERALD_ADDR=f"127.0.0.1:{port}", HERALD_DATA_DIR=work,
               HERALD_ADMIN_TOKEN=ADMIN, HERALD_SANDBOX="1", HERALD_CHART_ALLOW_HOSTS="127.0.0.1")
    local = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        call(base, "PUT", "/v1/settings", {"url_prefix": base})
        charts = f"http://127.0.0.1:{chart_port}"
        tasks = [
            task(charts, "wecom", {"wecom_robots": [{"name": "销售群", "webhook_key": "docs-robot-key"}]},
                 {"wecom_user": "zhangsan"}),
            task(charts, "feishu", {"feishu_chats": ["oc_sales"]}, {"feishu_user": "ou_docs"}),
            task(charts, "dingtalk", {"dingtalk_robots": [{"name": "华东销售", "access_token": "0docs0token0"}]},
                 {"dingtalk_user": "manager01"}),
        ]
        for body in tasks:
            created = call(base, "POST", "/v1/projects/sales/tasks", body)
            call(base, "POST", f"/v1/projects/sales/tasks/{created['id']}/push", {"confirm": True})
        time.sleep(3)
        inbox = call(base, "GET", "/sandbox/messages")
        records = call(base, "GET", "/v1/projects/sales/records")["items"]
        feishu_run = next(r for r in records if "feishu" in r.get("task_name", ""))
        snapshot = call(base, "GET", f"/v1/projects/sales/records/{feishu_run['id']}/snapshot.png", raw=True)
        feishu_picture = "data:image/png;base64," + base64.b64encode(snapshot).decode()

        # The picture and the figures are two deliveries, sent side by side: shown picture first.
        wecom = sorted((m for m in inbox["wecom"] if m.get("robot_key")), key=lambda m: m["msgtype"] != "image")
        wecom_bubbles = []
        for m in wecom:
            if m["msgtype"] == "image":
                wecom_bubbles.append(f'<img class="pic" src="data:image/png;base64,{m["body"]["image"]["base64"]}">')
            else:
                wecom_bubbles.append(f"<div class='bubble'>{markdown_html(m['body']['markdown']['content'])}</div>")
        feishu = next((m for m in inbox["feishu"] if m.get("receive_id_type") == "chat_id"), None)
        if feishu is None:
            raise SystemExit("the Feishu chat got no message: see the record of " + feishu_run["id"])
        card = feishu.get("content") or json.loads(feishu["body"]["content"])
        ding = next(m for m in inbox["dingtalk"] if m.get("robot_key"))
        ding_text = ding["body"]["markdown"]["text"]
        # The client fetches the picture by its link; the drawing carries its bytes.
        link = re.search(r"!\[[^\]]*\]\(([^)]+)\)", ding_text).group(1)
        with urllib.request.urlopen(link, timeout=10) as resp:
            ding_png = "data:image/png;base64," + base64.b64encode(resp.read()).decode()
        ding_text = ding_text.replace(link, ding_png)
        page = ("<!doctype html><meta charset='utf-8'><style>" + STYLE + "</style><div class='row'>"
                + chat("wecom", "企业微信 · 销售群", "Herald 群机器人", wecom_bubbles)
                + chat("feishu", "飞书 · 销售群", "Herald", [feishu_card_html(card, feishu_picture)])
                + chat("dingtalk", "钉钉 · 华东销售", "Herald 机器人",
                       [f"<div class='bubble'>{markdown_html(ding_text)}</div>"])
                + "</div>")
        page_file = os.path.join(work, "group-messages.html")
        with open(page_file, "w", encoding="utf-8") as f:
            f.write(page)
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-first-run", f"--screenshot={out}", "--window-size=1340,1060",
                        "file://" + page_file], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"wrote {out}")
    finally:
        local.terminate()
        local.wait(10)
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
