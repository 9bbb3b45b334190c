"""The kiosk in real headless Chromium: every path to a ticket, with a screenshot of each screen,
the camera path through the server-side QR decoder, and the idle reset."""

import datetime as dt

import qrcode
from flask import url_for
from PIL import Image

from lobby.domain.clock import utcnow
from lobby.extensions import db
from lobby.models import (
    Appointment,
    AppointmentStatus,
    Client,
    ClinicSettings,
    Service,
    Staff,
    Visit,
)
from lobby.tokens import appointment_token

from .conftest import CHROMIUM, LAUNCH_ARGS


class Shots:
    def __init__(self, page, artifacts, name):
        self.page, self.artifacts, self.name, self.n = page, artifacts, name, 0

    def __call__(self, label):
        self.n += 1
        # Every image of the screen loaded (the QR codes), so the picture shows what a visitor sees.
        self.page.wait_for_function("() => Array.from(document.images).every((i) => i.complete)")
        self.page.screenshot(path=str(self.artifacts / f"kiosk-{self.name}-{self.n}-{label}.png"), full_page=True)


def lobby_tablet_cookie(server):
    """The cookie of one of the clinic's lobby tablets (kiosk/devices.py), signed as the server signs it."""
    from itsdangerous import URLSafeTimedSerializer

    from kiosk.devices import COOKIE
    from lobby.tokens import KIOSK_SALT

    value = URLSafeTimedSerializer(server.env["SECRET_KEY"], salt=KIOSK_SALT).dumps({"g": 1, "d": "test-tablet"})
    return {"name": COOKIE, "value": value, "url": server.url}


def tablet(browser, server, portrait=False):
    size = {"width": 800, "height": 1280} if portrait else {"width": 1280, "height": 800}
    page = browser.new_page(viewport=size, locale="zh-CN", has_touch=True)
    page.context.add_cookies([lobby_tablet_cookie(server)])
    page.goto(server.url + "/kiosk/")
    return page


def answer_questionnaire(page, shot):
    page.wait_for_selector("input[name=consent_privacy]")
    page.locator("label.chip", has_text="乳胶").click()
    pregnancy = page.locator("label.chip:has(input[name=pregnancy][value=no])")
    if pregnancy.count():  # asked only when it can apply
        pregnancy.click()
    page.locator("label.chip:has(input[name=smoking][value=no])").click()
    shot("questionnaire")
    page.locator("input[name=consent_privacy]").check()
    page.get_by_role("button", name="领取号码").click()
    page.wait_for_selector(".slip-number")
    shot("ticket")
    return page.locator(".slip-number").inner_text()


def book(app, phone, code, username="dan"):
    with app.app_context():
        client = Client(name="欧阳娜娜", phone=phone, gender="female")
        booking = Appointment(code=code, client=client, starts_at=utcnow(), status=AppointmentStatus.BOOKED,
                              service=db.session.query(Service).filter_by(code="nose").one(),
                              staff=db.session.query(Staff).filter_by(username=username).one())
        db.session.add(booking)
        db.session.commit()
        return booking.public_id


def test_appointment_by_typed_code(app, server, browser, artifacts):
    book(app, "+8613900139000", "246810")
    page = tablet(browser, server)
    shot = Shots(page, artifacts, "appointment-code")
    shot("start")
    page.get_by_role("button", name="我有预约").click()
    page.fill("input[name=phone]", "13900139000")
    page.fill("input[name=code]", "246810")
    shot("typed")
    page.get_by_role("button", name="查找我的预约").click()
    page.wait_for_selector("text=这是您的预约吗？")
    assert "欧*娜" in page.inner_text("#kiosk-panel") and "欧阳娜娜" not in page.content()
    shot("confirm")
    page.get_by_role("button", name="是的，继续").click()
    assert answer_questionnaire(page, shot) == "B001"


def fake_camera_file(path, text):
    """A Y4M video of a QR code, for Chromium's fake camera."""
    code = qrcode.make(text, box_size=6, border=4).convert("L")
    frame = Image.new("L", (640, 480), 255)
    frame.paste(code.resize((400, 400)), (120, 40))
    with open(path, "wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(10):
            out.write(b"FRAME\n" + frame.tobytes() + bytes([128]) * (320 * 240 * 2))


def test_appointment_by_qr_through_the_camera_and_the_server_decoder(app, server, artifacts, tmp_path, playwright):
    public_id = book(app, "+8613900139001", "135790")
    with app.test_request_context(base_url=server.url):
        token = appointment_token(public_id)
    video = tmp_path / "qr.y4m"
    fake_camera_file(video, f"{server.url}/kiosk/a/{token}")
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    try:
        page = chromium.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page.context.add_cookies([lobby_tablet_cookie(server)])
        refused = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(server.url + "/kiosk/")
        shot = Shots(page, artifacts, "appointment-camera")
        decoded_on_server = []
        page.on("request", lambda r: decoded_on_server.append(r.url) if r.url.endswith("/kiosk/scan-image") else None)
        page.get_by_role("button", name="我有预约").click()
        page.get_by_role("button", name="打开摄像头").click()
        page.wait_for_selector("text=这是您的预约吗？", timeout=20_000)
        assert decoded_on_server, "the frame should have been decoded by the server (no BarcodeDetector here)"
        shot("confirm")
        page.get_by_role("button", name="是的，继续").click()
        assert answer_questionnaire(page, shot) == "B001"
        assert refused == []  # the camera, the canvas and the upload pass the Content-Security-Policy
    finally:
        chromium.close()


def test_walk_in(server, browser, artifacts):
    page = tablet(browser, server, portrait=True)
    shot = Shots(page, artifacts, "walk-in")
    page.get_by_role("button", name="现场咨询").click()
    page.get_by_role("button", name="下一步").click()
    page.wait_for_selector(".field-error")
    shot("errors")
    page.fill("input[name=name]", "王小美")
    page.fill("input[name=phone]", "13800138000")
    page.locator("label.chip", has_text="女").first.click()
    page.fill("input[name=birth_year]", "1992")
    page.locator("label.chip", has_text="果酸焕肤").click()
    shot("details")
    page.get_by_role("button", name="下一步").click()
    assert answer_questionnaire(page, shot) == "A001"
    assert "就诊前请勿化妆" in page.inner_text(".ticket-slip")


def test_returning_client(app, server, browser, artifacts):
    with app.app_context():
        amy = db.session.query(Staff).filter_by(username="amy").one()
        db.session.add(Client(name="张三华", phone="+8613700137000", gender="female", birth_year=1990, consultant=amy))
        db.session.commit()
    page = tablet(browser, server)
    shot = Shots(page, artifacts, "returning")
    page.get_by_role("button", name="复诊 / 老顾客").click()
    page.fill("input[name=phone]", "13700137000")
    page.fill("input[name=name]", "张三华")
    page.fill("input[name=birth_year]", "1990")
    shot("find")
    page.get_by_role("button", name="下一步").click()
    page.wait_for_selector("text=张女士，欢迎您再次光临")
    shot("greeting")
    page.get_by_role("button", name="下一步").click()
    assert answer_questionnaire(page, shot) == "A001"
    assert "Amy" in page.inner_text(".ticket-slip")


def test_post_op_visit(app, server, browser, artifacts):
    with app.app_context():
        surgeon = db.session.query(Staff).filter_by(username="dr_sun").one()
        db.session.add(Client(name="李雪", phone="+8613700137001", gender="female", birth_year=1988, surgeon=surgeon,
                              surgery_date=dt.date.today() - dt.timedelta(days=7)))
        db.session.commit()
    page = tablet(browser, server)
    shot = Shots(page, artifacts, "post-op")
    page.get_by_role("button", name="术后复查").click()
    page.fill("input[name=phone]", "13700137001")
    page.fill("input[name=name]", "李雪")
    page.fill("input[name=birth_year]", "1988")
    page.get_by_role("button", name="下一步").click()
    page.wait_for_selector("text=李女士，欢迎您再次光临")
    page.locator("label.chip", has_text="拆线").click()
    shot("reason")
    page.get_by_role("button", name="下一步").click()
    assert answer_questionnaire(page, shot) == "C001"


def test_companion(app, server, browser, artifacts):
    page = tablet(browser, server)
    page.get_by_role("button", name="现场咨询").click()
    page.fill("input[name=name]", "王小美")
    page.fill("input[name=phone]", "13800138000")
    page.locator("label.chip", has_text="女").first.click()
    page.fill("input[name=birth_year]", "1992")
    page.locator("label.chip", has_text="果酸焕肤").click()
    page.get_by_role("button", name="下一步").click()
    answer_questionnaire(page, lambda label: None)
    with page.expect_navigation():  # "Done" loads the start page afresh: its buttons answer once it has loaded
        page.get_by_role("link", name="完成").click()
    page.wait_for_selector(".kiosk-start")
    assert "王小美" not in page.content()

    shot = Shots(page, artifacts, "companion")
    page.get_by_role("button", name="我是陪同人员").click()
    page.fill("input[name=ticket]", "A001")
    shot("ticket-number")
    page.get_by_role("button", name="下一步").click()
    page.wait_for_selector("text=感谢您的陪同")
    assert "A001" in page.inner_text("#kiosk-panel")
    qr = page.locator(".companion-qr img")
    qr.wait_for()
    page.wait_for_function("() => document.querySelector('.companion-qr img').complete")
    assert qr.evaluate("img => img.naturalWidth") > 0  # the QR code to follow A001 on their phone
    shot("linked")


def test_idle_reset_forgets_the_visitor(server, browser, query):
    def quick_reset(session):
        session.query(ClinicSettings).one().kiosk_idle_seconds = 6
        session.commit()

    query(quick_reset)
    page = tablet(browser, server)
    page.get_by_role("button", name="现场咨询").click()
    page.fill("input[name=name]", "欧阳娜娜")
    page.fill("input[name=phone]", "13900139000")
    page.locator("[data-idle-overlay]").wait_for(state="visible", timeout=15_000)
    page.wait_for_selector(".kiosk-start", timeout=15_000)
    assert "欧阳娜娜" not in page.content() and "13900139000" not in page.content()
    page.go_back()
    page.wait_for_load_state()
    assert "欧阳娜娜" not in page.content() and "13900139000" not in page.content()


def test_a_usb_scanner_typing_the_code_like_a_keyboard(app, server, browser, artifacts):
    public_id = book(app, "+8613900139002", "112233")
    with app.test_request_context(base_url=server.url):
        token = appointment_token(public_id)
    page = tablet(browser, server)
    page.get_by_role("button", name="我有预约").click()
    page.wait_for_selector("[data-scanner]")
    page.locator("h1").click()  # nothing focused: the scanner's keystrokes go to the page
    page.keyboard.type(f"{server.url}/kiosk/a/{token}", delay=2)
    page.keyboard.press("Enter")
    page.wait_for_selector("text=这是您的预约吗？", timeout=10_000)
    assert "欧*娜" in page.inner_text("#kiosk-panel")


def test_after_an_english_visitor_the_tablet_greets_the_next_one_in_its_own_language(server, browser):
    page = tablet(browser, server)
    # A new page: its buttons answer once its scripts have run (its load event), not when first shown.
    with page.expect_navigation():
        page.get_by_role("link", name="English").click()
    page.get_by_role("button", name="First visit, no appointment").click()
    page.fill("input[name=name]", "Emma")
    page.locator("a.brand[data-reset]").click()  # what "Done", "Start over" and the idle reset do
    page.wait_for_selector(".kiosk-start")
    assert "欢迎光临" in page.inner_text("#kiosk-panel")
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def test_a_visitor_who_already_has_a_number_is_shown_it_again(server, browser, artifacts):
    def walk_in():
        page = tablet(browser, server)
        page.get_by_role("button", name="现场咨询").click()
        page.fill("input[name=name]", "欧阳娜娜")
        page.fill("input[name=phone]", "13900139000")
        page.locator("label.chip", has_text="女").first.click()
        page.fill("input[name=birth_year]", "1990")
        page.locator("label.chip", has_text="果酸焕肤").click()
        page.get_by_role("button", name="下一步").click()
        answer_questionnaire(page, lambda label: None)
        return page

    assert walk_in().locator(".slip-number").inner_text() == "A001"
    again = walk_in()
    assert again.locator(".slip-number").inner_text() == "A001"
    assert "您今天已经取过号" in again.locator("[data-already]").inner_text()
    again.wait_for_function("() => document.querySelector('.slip-qr').complete")
    again.screenshot(path=str(artifacts / "kiosk-already-has-a-number.png"), animations="disabled")


def test_a_tablet_without_a_camera_offers_the_typed_code_instead(server, browser, artifacts):
    page = tablet(browser, server)  # headless Chromium here has no camera at all
    page.get_by_role("button", name="我有预约").click()
    status = page.locator("[data-scan-status]")
    status.wait_for(state="visible")
    assert "没有可用的摄像头" in status.inner_text()
    assert page.get_by_role("button", name="打开摄像头").is_hidden()
    assert page.locator(".typed-box input[name=phone]").is_visible()
    page.screenshot(path=str(artifacts / "kiosk-no-camera.png"), animations="disabled")


def test_a_camera_the_visitor_may_not_use_leads_to_the_typed_code(server, playwright):
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS + [
        "--use-fake-device-for-media-stream"])  # a camera, but nobody grants it
    try:
        context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        context.grant_permissions([])
        page = context.new_page()
        page.goto(server.url + "/kiosk/")
        page.get_by_role("button", name="我有预约").click()
        page.get_by_role("button", name="打开摄像头").click()
        page.locator("[data-scanner][data-camera-state=none]").wait_for(timeout=20_000)
        assert "请输入手机号和预约码" in page.locator("[data-scan-status]").inner_text()
        assert page.locator(".typed-box input[name=phone]").evaluate("el => el === document.activeElement")
    finally:
        chromium.close()


def test_the_questionnaire_on_a_portrait_tablet(server, browser, artifacts):
    """The submit button is in reach without scrolling, "None" and the options exclude each other,
    and a man is not asked about pregnancy; every mistake shows at once."""
    page = tablet(browser, server, portrait=True)
    page.get_by_role("button", name="现场咨询").click()
    page.fill("input[name=name]", "王小明")
    page.fill("input[name=phone]", "13900139001")
    page.locator("label.chip", has_text="男").first.click()
    page.fill("input[name=birth_year]", "1985")
    page.locator("label.chip", has_text="果酸焕肤").click()
    page.get_by_role("button", name="下一步").click()
    page.wait_for_selector("input[name=consent_privacy]")
    assert page.locator("input[name=pregnancy]").count() == 0
    submit = page.get_by_role("button", name="领取号码")
    assert submit.evaluate("b => b.getBoundingClientRect().bottom <= window.innerHeight")  # no scroll needed

    allergies = page.locator("fieldset", has=page.locator("input[name=allergies]"))
    allergies.locator("label.chip", has_text="乳胶").click()
    allergies.locator("label.chip-none").click()
    assert allergies.locator("input[value=latex]").is_checked() is False
    allergies.locator("label.chip", has_text="乳胶").click()
    assert allergies.locator("input[data-none]").is_checked() is False
    allergies.locator("label.chip-none").click()

    submit.click()  # smoking and consent unanswered: both said at once, each at its question
    page.wait_for_selector(".form-mistakes")
    assert page.locator(".field-error").count() == 2
    assert page.locator("input[name=allergies][value=none]").is_checked()  # what was answered is kept
    page.screenshot(path=str(artifacts / "kiosk-questionnaire-mistakes-portrait.png"), animations="disabled")
    page.locator("label.chip:has(input[name=smoking][value=no])").click()
    page.locator("input[name=consent_privacy]").check()
    page.get_by_role("button", name="领取号码").click()
    assert page.locator(".slip-number").inner_text() == "A001"


def test_a_booking_link_opened_on_a_phone_gives_no_ticket(app, server, browser, artifacts):
    """The confirmation's link, opened at home: when and where, and to scan it at the lobby tablet;
    no ticket for someone who is not there. The same link at the lobby tablet checks in."""
    public_id = book(app, "+8613900139002", "246810")
    with app.test_request_context(base_url=server.url):
        link = url_for("kiosk.appointment", token=appointment_token(public_id), _external=True)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    phone.goto(link)
    phone.locator("[data-appointment-elsewhere]").wait_for()
    assert "扫描" in phone.inner_text("#kiosk-panel") and phone.locator(".slip-number").count() == 0
    phone.screenshot(path=str(artifacts / "phone-booking-link-at-home.png"), animations="disabled")
    with app.app_context():
        assert db.session.query(Visit).count() == 0

    page = tablet(browser, server)
    page.goto(link)
    page.get_by_role("button", name="是的，继续").click()
    assert answer_questionnaire(page, lambda label: None) == "B001"


def test_switching_language_mid_step_keeps_what_was_typed(server, browser):
    page = tablet(browser, server)
    page.get_by_role("button", name="现场咨询").click()
    page.fill("input[name=name]", "Emma Stone")
    page.fill("input[name=phone]", "13900139003")
    page.locator("label.chip", has_text="女").first.click()
    with page.expect_navigation():  # (its buttons answer once the new page's scripts have run)
        page.get_by_role("link", name="English").click()
    page.get_by_role("heading", name="Tell us about yourself").wait_for()
    assert page.input_value("input[name=name]") == "Emma Stone"
    assert page.input_value("input[name=phone]") == "13900139003"
    assert page.locator("input[name=gender][value=female]").is_checked()
    page.fill("input[name=birth_year]", "1990")
    page.locator("label.chip", has_text="Chemical peel").click()
    page.get_by_role("button", name="Next").click()  # the step goes on from where it was
    page.wait_for_selector("input[name=consent_privacy]")
    with page.expect_navigation():
        page.get_by_role("link", name="中文").click()
    page.get_by_role("heading", name="健康问卷").wait_for()
    assert page.locator("input[name=pregnancy]").count() > 0  # still her questionnaire, in Chinese
