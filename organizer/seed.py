"""Demo data for `flask seed`: fictional movements, their organizers, upcoming actions, volunteers.

Every organization, person and address here is invented. Running it again adds nothing: rows are
looked up by natural keys (organization slug, user email, action title within its organization)
and only what is missing is created. Actions are placed relative to `now`, so a fresh database
always shows the coming six weeks.

Demo logins (one shared password, `organize-demo-2026`):

| Email                     | Name            | Organization (role)                          |
|---------------------------|-----------------|----------------------------------------------|
| noa@demo.organizer        | Noa Bar-Lev     | Common Road (owner)                          |
| rami@demo.organizer       | Rami Haddad     | Common Road (owner)                          |
| yael@demo.organizer       | Yael Shahar     | Shared Hope, bereaved families (owner)       |
| suha@demo.organizer       | Suha Mansour    | Shared Hope, bereaved families (organizer)   |
| hila@demo.organizer       | Hila Ofek       | Women at the Table (owner)                   |
| amal@demo.organizer       | Amal Nassar     | Women at the Table (organizer)               |
| dana@demo.organizer       | Dana Weiss      | Two Languages Parents' Network (owner)       |
| jamil@demo.organizer      | Jamil Sabbagh   | Two Languages Parents' Network (organizer)   |
| khaled@demo.organizer     | Khaled Amro     | Sumud Fields (owner)                         |
| emma@demo.organizer       | Emma Lindqvist  | Sumud Fields (organizer)                     |
| admin@demo.organizer      | Demo Admin      | site administrator                           |
| volunteer@demo.organizer  | Maya Stein      | volunteer with three sign-ups                |

Shared Hope has asked the Two Languages Parents' Network to co-host its memorial: Dana or Jamil
see the request, with Accept and Decline, on their organization's manage page.

Two actions repeat: Women at the Table's Friday vigil every week (three guests signed up for
every date) and the Two Languages network meeting every three months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from .extensions import db
from .markdown import render_markdown
from .models import (
    Event,
    EventCause,
    EventHost,
    EventTranslation,
    Membership,
    Organization,
    Shift,
    Signup,
    User,
)
from .models import signup as st
from .models.event import (
    COHOST_ACCEPTED,
    COHOST_PENDING,
    LOCATION_CONFIRMED,
    LOCATION_PUBLIC,
    STATUS_DRAFT,
    STATUS_PUBLISHED,
)
from .models.organization import ROLE_ORGANIZER, ROLE_OWNER
from .progress import SILENT, Progress

DEMO_PASSWORD = "organize-demo-2026"  # noqa: S105 - published demo credential, see README
JERUSALEM = "Asia/Jerusalem"


@dataclass(frozen=True)
class OrgSeed:
    slug: str
    name: str
    description: str
    timezone: str = JERUSALEM
    default_locale: str = "he"


@dataclass(frozen=True)
class UserSeed:
    email: str
    name: str
    locale: str
    org: str | None = None
    role: str = ROLE_ORGANIZER
    is_admin: bool = False
    timezone: str = JERUSALEM


@dataclass(frozen=True)
class ActionSeed:
    org: str
    title: str
    language: str
    kind: str
    region: str
    city: str
    day: int  # days after today (local date); at least 1
    at: str  # local start time, "HH:MM"
    hours: float
    causes: tuple[str, ...]
    description: str
    weekday: int | None = None  # move forward to this weekday (Monday 0 ... Sunday 6)
    timezone: str | None = None  # defaults to the organization's
    address: str = ""
    online_url: str = ""
    capacity: int | None = None
    approval: bool = False
    hidden: bool = False
    reveal_hours_before: int | None = None
    cohosts: tuple[str, ...] = ()  # accepted
    pending_cohosts: tuple[str, ...] = ()  # asked, not yet answered
    visibility: str = "public"
    status: str = STATUS_PUBLISHED
    translations: tuple[tuple[str, str, str], ...] = ()  # (locale, title, description)
    confirmed: int = 0
    waitlisted: int = 0
    pending: int = 0
    demo_volunteer: str | None = None  # status of volunteer@demo.organizer's sign-up, if any


ORGANIZATIONS: tuple[OrgSeed, ...] = (
    OrgSeed(
        slug="common-road",
        name="Common Road – דרך משותפת – الطريق المشترك",
        description=(
            "A grassroots movement of Jewish and Palestinian citizens of Israel organizing "
            "together for equality, peace and social justice. Every chapter is co-led by a "
            "Jewish and an Arab coordinator.\n\n"
            "תנועת שטח של אזרחיות ואזרחים יהודים וערבים שמתארגנים יחד למען שוויון, שלום "
            "וצדק חברתי.\n\n"
            "حراك شعبي لمواطنات ومواطنين عرب ويهود ينتظمون معًا من أجل المساواة والسلام "
            "والعدالة الاجتماعية."
        ),
    ),
    OrgSeed(
        slug="shared-hope",
        name="Shared Hope – Bereaved Families' Forum",
        default_locale="en",
        description=(
            "Israeli and Palestinian families who lost loved ones to the conflict, meeting to "
            "listen to each other and to speak in public for reconciliation instead of revenge.\n\n"
            "תקווה משותפת: משפחות ישראליות ופלסטיניות ששכלו את יקיריהן בסכסוך, נפגשות כדי "
            "להקשיב זו לזו ולומר בקול: פיוס ולא נקמה.\n\n"
            "أمل مشترك: عائلات فلسطينية وإسرائيلية فقدت أحباءها في الصراع، تلتقي لتصغي إلى "
            "بعضها وتقول بصوت عالٍ: المصالحة لا الانتقام."
        ),
    ),
    OrgSeed(
        slug="women-at-the-table",
        name="Women at the Table – נשים ליד השולחן – نساء حول الطاولة",
        description=(
            "Jewish and Arab women demanding a seat at every table where our future is decided: "
            "for a negotiated agreement, for safety for all, for women's leadership.\n\n"
            "נשים יהודיות וערביות שדורשות מקום בכל שולחן שבו מוחלט עתידנו: למען הסכם מדיני, "
            "ביטחון לכולן ולכולם, ומנהיגות של נשים.\n\n"
            "نساء عربيات ويهوديات يطالبن بمقعد على كل طاولة يُقرَّر فيها مستقبلنا: من أجل اتفاق "
            "سياسي، وأمان للجميع، وقيادة نسائية."
        ),
    ),
    OrgSeed(
        slug="two-languages-parents",
        name="Two Languages Parents' Network – רשת הורים דו-לשונית",
        description=(
            "Parents of children in Hebrew–Arabic bilingual schools and kindergartens, building "
            "shared communities around them and campaigning for more bilingual classes.\n\n"
            "הורים לילדים בבתי ספר ובגנים דו-לשוניים, שבונים סביבם קהילות משותפות ופועלים "
            "לפתיחת עוד כיתות דו-לשוניות.\n\n"
            "شبكة الأهالي ثنائية اللغة: أهالي أطفال في مدارس وروضات ثنائية اللغة، عبرية وعربية، "
            "يبنون حولها مجتمعات مشتركة ويعملون لافتتاح المزيد من الصفوف ثنائية اللغة."
        ),
    ),
    OrgSeed(
        slug="sumud-fields",
        name="Sumud Fields – حقول الصمود",
        timezone="Asia/Hebron",
        default_locale="ar",
        description=(
            "حركة فلسطينية لاعنفية تنظّم حضورًا تضامنيًا إلى جانب المزارعين والرعاة والعائلات "
            "المهددة بالتهجير، بمشاركة متطوعين دوليين وإسرائيليين.\n\n"
            "A Palestinian-led nonviolent movement organizing protective presence alongside "
            "farmers, shepherds and families under threat of displacement, joined by "
            "international and Israeli volunteers."
        ),
    ),
)

USERS: tuple[UserSeed, ...] = (
    UserSeed("noa@demo.organizer", "Noa Bar-Lev", "he", "common-road", ROLE_OWNER),
    UserSeed("rami@demo.organizer", "Rami Haddad", "ar", "common-road", ROLE_OWNER),
    UserSeed("yael@demo.organizer", "Yael Shahar", "he", "shared-hope", ROLE_OWNER),
    UserSeed("suha@demo.organizer", "Suha Mansour", "ar", "shared-hope"),
    UserSeed("hila@demo.organizer", "Hila Ofek", "he", "women-at-the-table", ROLE_OWNER),
    UserSeed("amal@demo.organizer", "Amal Nassar", "ar", "women-at-the-table"),
    UserSeed("dana@demo.organizer", "Dana Weiss", "en", "two-languages-parents", ROLE_OWNER),
    UserSeed("jamil@demo.organizer", "Jamil Sabbagh", "ar", "two-languages-parents"),
    UserSeed(
        "khaled@demo.organizer",
        "Khaled Amro",
        "ar",
        "sumud-fields",
        ROLE_OWNER,
        timezone="Asia/Hebron",
    ),
    UserSeed("emma@demo.organizer", "Emma Lindqvist", "en", "sumud-fields", timezone="Asia/Hebron"),
    UserSeed("admin@demo.organizer", "Demo Admin", "en", is_admin=True),
    UserSeed("volunteer@demo.organizer", "Maya Stein", "en"),
)

VOLUNTEER_EMAIL = "volunteer@demo.organizer"


def _login_role(user: UserSeed) -> str:
    if user.is_admin:
        return "site administrator"
    return f"{user.role} of {user.org}" if user.org else "volunteer with sign-ups"


# (email, password, what the login shows) for the README.
DEMO_LOGINS: tuple[tuple[str, str, str], ...] = tuple(
    (u.email, DEMO_PASSWORD, _login_role(u)) for u in USERS
)

# Guest volunteers (no account): interleaved Hebrew, Arabic and English speakers.
GUESTS: tuple[tuple[str, str, str], ...] = (
    ("תמר מזרחי", "tamar.mizrahi@example.org", "he"),
    ("سلمى عوض", "salma.awad@example.org", "ar"),
    ("Hannah Schmidt", "hannah.schmidt@example.org", "en"),
    ("יונתן כהן", "yonatan.cohen@example.org", "he"),
    ("يوسف صالح", "yousef.saleh@example.org", "ar"),
    ("Liam O'Connor", "liam.oconnor@example.org", "en"),
    ("מיכל אברהם", "michal.avraham@example.org", "he"),
    ("ليلى خطيب", "layla.khatib@example.org", "ar"),
    ("Sofia Rossi", "sofia.rossi@example.org", "en"),
    ("אורי שפירא", "uri.shapira@example.org", "he"),
    ("عمر عودة", "omar.odeh@example.org", "ar"),
    ("Jonas Berg", "jonas.berg@example.org", "en"),
    ("רוני פרץ", "roni.peretz@example.org", "he"),
    ("رنا سعيد", "rana.saeed@example.org", "ar"),
    ("Claire Dubois", "claire.dubois@example.org", "en"),
    ("שירה גולן", "shira.golan@example.org", "he"),
    ("كريم جبارين", "karim.jabareen@example.org", "ar"),
    ("Mateo García", "mateo.garcia@example.org", "en"),
    ("עידו ברק", "ido.barak@example.org", "he"),
    ("هبة عيسى", "hiba.issa@example.org", "ar"),
    ("Aisha Rahman", "aisha.rahman@example.org", "en"),
    ("ליאור דהן", "lior.dahan@example.org", "he"),
    ("طارق حمدان", "tariq.hamdan@example.org", "ar"),
    ("Ben Carter", "ben.carter@example.org", "en"),
    ("אביגיל לוי", "avigail.levi@example.org", "he"),
    ("ميساء بشارة", "maysa.bishara@example.org", "ar"),
    ("Ingrid Larsen", "ingrid.larsen@example.org", "en"),
    ("דניאל אזולאי", "daniel.azulay@example.org", "he"),
    ("فادي زعبي", "fadi.zoabi@example.org", "ar"),
    ("Priya Nair", "priya.nair@example.org", "en"),
)

FRIDAY, SATURDAY, MONDAY, THURSDAY = 4, 5, 0, 3

ACTIONS: tuple[ActionSeed, ...] = (
    # --- Common Road: joint Jewish–Arab grassroots movement -------------------------------
    ActionSeed(
        org="common-road",
        cohosts=("women-at-the-table",),
        title="צועדים יחד: יהודים וערבים למען שוויון ושלום",
        language="he",
        kind="rally",
        region="tel_aviv",
        city="תל אביב–יפו",
        address="כיכר הבימה, תל אביב",
        day=5,
        weekday=SATURDAY,
        at="20:30",
        hours=2.5,
        causes=("peace", "equality"),
        confirmed=12,
        demo_volunteer=st.CONFIRMED,
        description="""צעדה משותפת מכיכר הבימה לשדרות רוטשילד. **יהודים וערבים, יחד** — כי אין
ביטחון בלי שוויון ואין שוויון בלי שלום.

- מביאים שלטים בעברית ובערבית (יהיו גם במקום)
- מים, כובע ונעליים נוחות
- צוות סדרנים בווסטים כתומים ילווה את הצעדה

אחרי הצעדה: מעגל שירה קצר בשתי השפות.""",
        translations=(
            (
                "ar",
                "نسير معًا: يهود وعرب من أجل المساواة والسلام",
                """مسيرة مشتركة من ساحة هبيما إلى جادة روتشيلد. **يهود وعرب، معًا** — لأنه لا
أمان بلا مساواة، ولا مساواة بلا سلام.

- أحضروا لافتات بالعربية والعبرية (ستتوفر أيضًا في المكان)
- ماء وقبعة وحذاء مريح
- فريق منظمين بسترات برتقالية يرافق المسيرة

بعد المسيرة: حلقة غناء قصيرة باللغتين.""",
            ),
            (
                "en",
                "Marching together: Jews and Arabs for equality and peace",
                """A joint march from Habima Square to Rothschild Boulevard. **Jews and Arabs,
together** — because there is no security without equality, and no equality without peace.

- Bring signs in Hebrew and Arabic (there will be some on site too)
- Water, a hat and comfortable shoes
- Stewards in orange vests walk with the march

Afterwards: a short singing circle in both languages.""",
            ),
        ),
    ),
    ActionSeed(
        org="common-road",
        title="وقفة احتجاجية: أوقفوا الجريمة والعنف في مجتمعنا",
        language="ar",
        kind="demonstration",
        region="haifa_north",
        city="حيفا",
        address="ساحة وادي النسناس، حيفا",
        day=2,
        weekday=THURSDAY,
        at="18:00",
        hours=1.5,
        causes=("equality", "democracy"),
        confirmed=9,
        description="""نقف معًا، عربًا ويهودًا، للمطالبة بخطة حكومية حقيقية لمكافحة الجريمة
والعنف في المجتمع العربي.

**ماذا نطالب؟**

- ميزانيات للسلطات المحلية العربية
- جمع السلاح غير المرخّص
- برامج للشباب وفرص عمل

أحضروا لافتات بالعربية والعبرية. الوقفة سلمية ومرخّصة.""",
        translations=(
            (
                "he",
                "משמרת מחאה: עצרו את הפשיעה והאלימות בחברה הערבית",
                """עומדים יחד, ערבים ויהודים, ודורשים תוכנית ממשלתית אמיתית למיגור הפשיעה
והאלימות בחברה הערבית.

**מה אנחנו דורשים?**

- תקציבים לרשויות המקומיות הערביות
- איסוף הנשק הלא חוקי
- תוכניות לצעירים ומקומות עבודה

הביאו שלטים בערבית ובעברית. המשמרת שקטה ובאישור.""",
            ),
        ),
    ),
    ActionSeed(
        org="common-road",
        title="Members' assembly: planning the next campaign",
        language="en",
        kind="meeting",
        region="center",
        city="",
        online_url="https://meet.example.org/common-road/assembly",
        day=9,
        at="20:00",
        hours=1.5,
        causes=("equality", "democracy"),
        confirmed=6,
        description="""Our quarterly members' assembly, **online** so members from the Negev to
the Galilee can join.

Agenda:

1. Reports from the city chapters
2. Choosing the next campaign: equal budgets for Arab towns, or housing
3. Electing the new coordination team

Simultaneous Hebrew–Arabic interpretation is provided; an English summary follows in the chat.""",
        translations=(
            ("he", "אספת חברים וחברות: מתכננים את הקמפיין הבא", ""),
            ("ar", "اجتماع الأعضاء العام: نخطط للحملة القادمة", ""),
        ),
    ),
    ActionSeed(
        org="common-road",
        title="ניקוי וציוד מקלט ציבורי בשכונה מעורבת בלוד",
        language="he",
        kind="community_service",
        region="center",
        city="לוד",
        address="מקלט ציבורי, רחוב הרימון 7, לוד",
        day=3,
        at="09:00",
        hours=4,
        causes=("humanitarian", "equality"),
        capacity=10,
        confirmed=10,
        waitlisted=3,
        description="""מקלטים ציבוריים רבים בשכונות הערביות והמעורבות בלוד מוזנחים. **נפנה, ננקה
ונצייד מקלט אחד** כך שישמש את כל השכנים.

- כפפות עבודה ושקיות — עלינו
- להביא: בגדי עבודה ובקבוק מים
- מגיל 16 ומעלה

המקומות מוגבלים בגלל גודל המקלט; אפשר להירשם לרשימת המתנה.""",
    ),
    ActionSeed(
        org="common-road",
        title="ورشة: إدارة حوار في أوقات التوتر",
        language="ar",
        kind="training",
        region="galilee",
        city="الناصرة",
        address="المركز الجماهيري، حي الصفافرة، الناصرة",
        day=11,
        at="17:00",
        hours=3,
        causes=("nonviolence", "equality"),
        capacity=20,
        confirmed=6,
        description="""ورشة عملية لمن يريد أن يدير حوارات بين عرب ويهود في مكان العمل أو الحي أو
الجامعة.

**ما سنتعلمه:**

- الإصغاء الفعّال عندما تكون المشاعر قوية
- وضع قواعد آمنة للنقاش
- كيف نتعامل مع خطاب الكراهية

تُقدَّم الورشة بالعربية مع ترجمة إلى العبرية عند الحاجة.""",
    ),
    ActionSeed(
        org="common-road",
        title="יום שדולה בכנסת: תקציבים שווים לרשויות הערביות",
        language="he",
        kind="advocacy",
        region="jerusalem",
        city="ירושלים",
        address="הכנסת, שדרות קפלן, ירושלים",
        day=15,
        weekday=MONDAY,
        at="10:00",
        hours=5,
        causes=("equality", "democracy"),
        capacity=25,
        approval=True,
        confirmed=4,
        pending=2,
        description="""נפגוש חברות וחברי כנסת מכל הסיעות ונציג את הנתונים על **פערי התקציב בין
רשויות יהודיות וערביות**.

- הכניסה לכנסת מחייבת רשימה שמית מראש, לכן **ההרשמה באישור**
- תדריך קצר בבוקר לפני הפגישות
- יש להביא תעודה מזהה

נשלח את לוח הפגישות למי שאושרו.""",
    ),
    ActionSeed(
        org="common-road",
        title="Language café in Jaffa: Arabic and Hebrew over coffee",
        language="en",
        kind="other",
        region="tel_aviv",
        city="Jaffa",
        address="Community garden, Yefet Street, Jaffa",
        day=6,
        at="19:00",
        hours=2,
        causes=("equality", "education"),
        capacity=30,
        confirmed=9,
        description="""A relaxed evening of **conversation practice**: Arabic speakers practise
Hebrew, Hebrew speakers practise Arabic, everyone practises listening.

- All levels welcome, including complete beginners
- Tables by level, with a volunteer host at each
- Coffee, tea and ka'ak on us

Bring a friend from the other community.""",
    ),
    ActionSeed(
        org="common-road",
        title="משמרת במחסן הסיוע: מיון, אריזה והעמסת משאיות",
        language="he",
        kind="aid_drive",
        region="center",
        city="כפר קאסם",
        address="מחסן הסיוע, אזור התעשייה, כפר קאסם",
        day=4,
        at="08:30",
        hours=5,
        causes=("humanitarian",),
        capacity=40,
        confirmed=14,
        description="""אלפי מתנדבות ומתנדבים כבר עברו במחסן. **במשמרת הזאת נמיין, נארוז ונעמיס**
מזון, ציוד היגיינה ושמיכות על משאיות הסיוע ההומניטרי.

- משמרת של חמש שעות, עם הפסקה
- נעליים סגורות חובה
- אפשר להגיע עם קבוצה — כתבו לנו מראש

הסעה יוצאת מתחנת הרכבת ראש העין בשעה 08:00.""",
    ),
    # --- Shared Hope: bereaved families' forum --------------------------------------------
    ActionSeed(
        org="shared-hope",
        cohosts=("common-road",),
        pending_cohosts=("two-languages-parents",),  # Dana sees it on her organization's page
        title="טקס הזיכרון המשותף — שידור מקוון",
        language="he",
        kind="memorial",
        region="jerusalem",
        city="ירושלים",
        online_url="https://meet.example.org/shared-hope/memorial",
        hidden=True,
        day=27,
        at="19:30",
        hours=2,
        causes=("bereavement", "peace"),
        confirmed=15,
        description="""הטקס המשותף של משפחות שכולות ישראליות ופלסטיניות, **בשידור מקוון** כדי
שגם מי שאינם יכולים לעבור במחסומים יוכלו להשתתף.

- דברים של אמהות ואבות משני הצדדים
- מוזיקה בעברית ובערבית
- תרגום סימולטני לעברית, לערבית ולאנגלית

הקישור לשידור יישלח רק למי שנרשמו, בגלל ניסיונות הפרעה בשנים קודמות.""",
    ),
    ActionSeed(
        org="shared-hope",
        title="أمسية تأبين مشتركة للعائلات الثكلى",
        language="ar",
        kind="memorial",
        region="west_bank",
        city="بيت جالا",
        address="قاعة الرعية، شارع المدارس 3، بيت جالا",
        hidden=True,
        reveal_hours_before=24,
        day=13,
        at="17:30",
        hours=2,
        causes=("bereavement", "peace"),
        capacity=40,
        confirmed=8,
        description="""أمسية نستذكر فيها أحباءنا الذين فقدناهم، فلسطينيين وإسرائيليين، ونشارك قصصهم.

**برنامج الأمسية:**

- كلمات من عائلات ثكلى
- دقيقة صمت
- موسيقى وشاي

يُرسَل العنوان الدقيق للمسجّلين المؤكَّدين قبل الموعد بـ24 ساعة.""",
    ),
    ActionSeed(
        org="shared-hope",
        title="Dialogue circle: two families, one table",
        language="en",
        kind="dialogue",
        region="jerusalem",
        city="Jerusalem",
        address="Community hall, 14 Ha-Oren Street, Jerusalem",
        hidden=True,
        day=8,
        at="18:00",
        hours=2.5,
        causes=("bereavement", "peace"),
        capacity=16,
        confirmed=16,
        waitlisted=4,
        demo_volunteer=st.WAITLISTED,
        description="""An evening with an Israeli mother and a Palestinian father who each lost
a child, and **a small circle of listeners** so that everyone can speak.

- Facilitated in English, with Hebrew and Arabic interpretation
- Please arrive 15 minutes early
- No photos or recordings, out of respect for the families

The address is shared with confirmed participants only.""",
    ),
    ActionSeed(
        org="shared-hope",
        title="ערב הקשבה: סיפורים אישיים מהשכול, בשתי שפות",
        language="he",
        kind="dialogue",
        region="haifa_north",
        city="חיפה",
        address="המרכז הקהילתי, שכונת הדר, חיפה",
        day=18,
        at="19:00",
        hours=2,
        causes=("bereavement", "education"),
        capacity=25,
        confirmed=7,
        description="""שני בני משפחות שכולות, ישראלי ופלסטינית, יספרו את סיפורם ואת הדרך שבחרו:
**לא נקמה אלא פיוס**.

- שיחה פתוחה עם הקהל אחרי הדברים
- מתאים לבני נוער מגיל 15 ומעלה
- הכניסה חופשית, בהרשמה מראש

הערב יתקיים בעברית עם תרגום לערבית.""",
    ),
    ActionSeed(
        org="shared-hope",
        title="تدريب للمتحدثين: كيف نروي قصة الفقد أمام الجمهور",
        language="ar",
        kind="training",
        region="galilee",
        city="",
        online_url="https://meet.example.org/shared-hope/speakers",
        day=22,
        at="18:30",
        hours=2,
        causes=("bereavement", "nonviolence"),
        capacity=12,
        approval=True,
        confirmed=3,
        pending=2,
        description="""تدريب عبر الإنترنت لأفراد العائلات الثكلى الذين يريدون التحدث في المدارس
والجامعات واللقاءات العامة.

**في التدريب:**

- بناء القصة الشخصية ورسم حدودها
- الإجابة عن الأسئلة الصعبة
- العناية بالنفس بعد كل لقاء

المشاركة **بموافقة مسبقة** للعائلات الأعضاء في المنتدى.""",
    ),
    ActionSeed(
        org="shared-hope",
        title="Bereaved parents speak: an evening in London",
        language="en",
        kind="advocacy",
        region="abroad",
        city="London",
        timezone="Europe/London",
        address="St Margaret's Community Hall, Camden, London",
        day=33,
        at="19:00",
        hours=2,
        causes=("bereavement", "peace"),
        capacity=80,
        confirmed=5,
        description="""Part of our speaking tour: an Israeli and a Palestinian parent
tell their stories and **ask British audiences to support reconciliation work** rather than take
sides in hatred.

- Talk, questions and a short film
- Step-free access
- Free entry, donations welcome

Times are London time.""",
    ),
    # --- Women at the Table: women's peace movement ---------------------------------------
    ActionSeed(
        org="women-at-the-table",
        title="משמרת נשים שבועית: הגיע הזמן להסכם",
        language="he",
        kind="demonstration",
        region="jerusalem",
        city="ירושלים",
        address="כיכר פריז, ירושלים",
        day=1,
        weekday=FRIDAY,
        at="11:00",
        hours=1.5,
        causes=("women", "peace"),
        confirmed=10,
        description="""כל יום שישי, בלבן ובשקט. **נשים יהודיות וערביות עומדות יחד** ודורשות
מהממשלה לפעול להסכם מדיני.

- לבוש לבן
- שלטים יחולקו במקום
- המשמרת שקטה, בלי קריאות

אפשר להצטרף לשעה או לכל המשמרת.""",
    ),
    ActionSeed(
        org="women-at-the-table",
        title="دائرة نساء: أمهات من الجليل يتحاورن",
        language="ar",
        kind="dialogue",
        region="galilee",
        city="سخنين",
        address="بيت الثقافة، سخنين",
        day=10,
        at="17:00",
        hours=2.5,
        causes=("women", "equality"),
        capacity=15,
        approval=True,
        confirmed=4,
        pending=3,
        description="""لقاء حميمي لنساء عربيات ويهوديات من الجليل، نتحدث فيه عن الخوف والأمل
وتربية أبنائنا في هذه الأيام.

- مجموعة صغيرة تقودها ميسّرتان
- الحديث بالعربية والعبرية مع ترجمة متبادلة
- **المشاركة بعد موافقة المنظِّمات** حفاظًا على مساحة آمنة

ضيافة بيتية على الطاولة.""",
    ),
    ActionSeed(
        org="women-at-the-table",
        cohosts=("shared-hope",),
        title="עצרת נשים בשדרות: ביטחון לכולן ולכולם",
        language="he",
        kind="rally",
        region="gaza_envelope",
        city="שדרות",
        address="הכיכר המרכזית, שדרות",
        day=17,
        at="16:00",
        hours=2,
        causes=("peace", "women"),
        confirmed=8,
        description="""נשים מיישובי העוטף ומכל הארץ נפגשות כדי לומר: **הביטחון שלנו קשור בביטחון
של השכנים**, והדרך היחידה היא הסכם.

- דוברות מהעוטף, מהגליל ומהנגב
- הסעות מתל אביב ומבאר שבע (פרטים במייל האישור)
- נגישה לכיסאות גלגלים

בזמן התרעה: המרחב המוגן הקרוב נמצא במרחק דקה הליכה.""",
    ),
    ActionSeed(
        org="women-at-the-table",
        title="Workshop: women at the negotiating table",
        language="en",
        kind="training",
        region="tel_aviv",
        city="Tel Aviv",
        address="Women's Community Centre, 5 Levinsky Street, Tel Aviv",
        day=12,
        at="10:00",
        hours=6,
        causes=("women", "peace"),
        capacity=20,
        confirmed=20,
        waitlisted=5,
        description="""A one-day workshop drawing on **UN Security Council Resolution 1325** and
on women who negotiated peace elsewhere: Northern Ireland, Liberia, Colombia.

- Negotiation simulation in mixed Jewish–Arab teams
- Lunch included
- Taught in English with Hebrew and Arabic support

Places are limited; join the waitlist if the workshop is full.""",
    ),
    ActionSeed(
        org="women-at-the-table",
        title="لقاء تعارف للمتطوعات الجديدات",
        language="ar",
        kind="meeting",
        region="haifa_north",
        city="شفاعمرو",
        address="قاعة البلدية الصغيرة، شفاعمرو",
        day=7,
        at="18:30",
        hours=1.5,
        causes=("women",),
        confirmed=2,
        description="""انضممتِ مؤخرًا أو تفكرين في الانضمام؟ تعالي نتعرّف!

- من نحن وكيف نعمل
- **فرق العمل**: الإعلام، الميدان، الترجمة، الضيافة
- كيف تقودين نشاطًا في بلدك

اللقاء بالعربية، والجميع مرحّب بهنّ.""",
    ),
    ActionSeed(
        org="women-at-the-table",
        title="איסוף ציוד בסיסי למשפחות בכפרים הלא מוכרים בנגב",
        language="he",
        kind="aid_drive",
        region="negev",
        city="באר שבע",
        address="מחסן השותפות, רחוב חברון 12, באר שבע",
        day=14,
        at="09:00",
        hours=4,
        causes=("humanitarian", "land_housing"),
        capacity=30,
        confirmed=11,
        description="""בכפרים הלא מוכרים בנגב אין חיבור סדיר לחשמל ולמים. **נאסוף, נמיין
ונארוז** שמיכות, ערכות היגיינה וציוד לבית הספר למאתיים משפחות.

- מה להביא: שמיכות נקיות, מוצרי היגיינה, ילקוטים ומחברות
- מה לא להביא: בגדים משומשים ומזון פתוח
- המיון נעשה יחד עם נשים מהכפרים

בסוף היום נצא יחד לחלוקה בשני כפרים.""",
    ),
    # --- Two Languages Parents' Network: bilingual education -------------------------------
    ActionSeed(
        org="two-languages-parents",
        title="בוקר התנדבות בגינה של בית הספר הדו-לשוני",
        language="he",
        kind="community_service",
        region="jerusalem",
        city="ירושלים",
        address="בית הספר הדו-לשוני, רחוב הגפן 4, ירושלים",
        day=8,
        weekday=FRIDAY,
        at="09:00",
        hours=3,
        causes=("education",),
        capacity=25,
        confirmed=8,
        demo_volunteer=st.CONFIRMED,
        description="""הורים, ילדים ומורים **שותלים, צובעים ומתקנים** את הגינה והחצר של בית הספר.

- מתאים לכל המשפחה
- כלים וצבעים — עלינו, כפפות — עליכם
- ארוחת בוקר משותפת בסוף

כל השלטים החדשים בגינה יהיו בעברית ובערבית.""",
    ),
    ActionSeed(
        org="two-languages-parents",
        title="لقاء أهالٍ: افتتاح صف ثنائي اللغة جديد في الجليل",
        language="ar",
        kind="meeting",
        region="galilee",
        city="كفر ياسيف",
        address="قاعة المجلس المحلي، كفر ياسيف",
        day=16,
        at="19:00",
        hours=2,
        causes=("education",),
        capacity=50,
        confirmed=5,
        description="""نخطط لافتتاح أول صف بستان ثنائي اللغة في المنطقة في أيلول القادم، ونبحث
عن عائلات عربية ويهودية مستعدة للانضمام.

**في اللقاء:**

- كيف يعمل التعليم ثنائي اللغة
- تجارب أهالٍ من مدارس قائمة
- الخطوات أمام وزارة التربية والمجلس المحلي

يوجد ركن لعب للأطفال خلال اللقاء.""",
    ),
    ActionSeed(
        org="two-languages-parents",
        title="Family fair of the bilingual schools",
        language="en",
        kind="other",
        region="center",
        city="Kfar Saba",
        address="Municipal park, Kfar Saba",
        status=STATUS_DRAFT,
        day=39,
        at="10:00",
        hours=4,
        causes=("education",),
        description="""**Draft: details are still being confirmed.**

- Book swap in Hebrew and Arabic
- Face painting and music
- Stalls from the bilingual schools""",
    ),
    ActionSeed(
        org="two-languages-parents",
        title="סדנת הורים: ערבית מדוברת למשפחות",
        language="he",
        kind="training",
        region="center",
        city="כפר סבא",
        address="ספריית העירייה, כפר סבא",
        day=19,
        at="20:00",
        hours=2,
        causes=("education",),
        capacity=18,
        confirmed=18,
        waitlisted=2,
        description="""הילדים כבר מדברים שתי שפות — **עכשיו תורנו**. סדנה להורים דוברי עברית
שרוצים לדבר בערבית עם הילדים, עם ההורים האחרים ועם הצוות.

- משפטים לחיי היום-יום: בוקר, גן, משחק, ארוחה
- שירי ילדים בערבית
- חוברת תרגול לבית

הקבוצה קטנה כדי שכולם ידברו.""",
    ),
    ActionSeed(
        org="two-languages-parents",
        title="حملة رسائل إلى وزارة التربية: ادعموا المدارس ثنائية اللغة",
        language="ar",
        kind="advocacy",
        region="jerusalem",
        city="",
        online_url="https://meet.example.org/two-languages/letters",
        day=5,
        at="20:30",
        hours=1,
        causes=("education", "democracy"),
        confirmed=4,
        description="""لقاء قصير عبر الإنترنت نكتب فيه معًا رسائل شخصية إلى وزارة التربية ولجنة
التعليم في الكنيست.

- نموذج رسالة بالعربية والعبرية
- **معطيات محدّثة** عن قوائم الانتظار في المدارس ثنائية اللغة
- كل مشارك يرسل رسالته قبل نهاية اللقاء

يكفي حاسوب أو هاتف.""",
    ),
    ActionSeed(
        org="two-languages-parents",
        title="Evening conversation: raising children in two languages",
        language="en",
        kind="dialogue",
        region="tel_aviv",
        city="Jaffa",
        address="Community room, Ajami, Jaffa",
        visibility="unlisted",
        day=21,
        at="20:00",
        hours=2,
        causes=("education",),
        capacity=20,
        confirmed=3,
        description="""An informal evening for parents from the network's Jaffa schools: **what
works at home, what is hard**, and how we support each other.

- A short opening by a speech therapist who works in both languages
- Open conversation in small groups
- Unlisted: shared with school parents by link only""",
    ),
    ActionSeed(
        org="two-languages-parents",
        title="ספר לכל ילד: איסוף ספרי ילדים בערבית ובעברית ברהט",
        language="he",
        kind="aid_drive",
        region="negev",
        city="רהט",
        address="המרכז הקהילתי, רהט",
        day=23,
        at="16:00",
        hours=3,
        causes=("education", "humanitarian"),
        capacity=35,
        confirmed=6,
        description="""נאסוף ונמיין ספרי ילדים **בערבית ובעברית** לספריות הגנים ברהט ובכפרים
הסמוכים.

- ספרים במצב טוב לגילאי 3–12
- משחקי קופסה יתקבלו בשמחה
- מיון ותיוג לפי שפה וגיל

נעבוד יחד עם הורים ומורות מרהט.""",
    ),
    ActionSeed(
        org="two-languages-parents",
        title="Network meeting: all our bilingual communities",
        language="en",
        kind="meeting",
        region="center",
        city="",
        online_url="https://meet.example.org/two-languages/network",
        day=16,
        at="20:00",
        hours=1.5,
        causes=("education",),
        confirmed=9,
        description="""Every three months, parents from **every bilingual school and kindergarten**
meet online to share what worked and plan together.

- A round of news from each community
- One shared campaign for the coming months
- Hebrew–Arabic interpretation throughout""",
        translations=(
            ("he", "מפגש הרשת: כל הקהילות הדו-לשוניות שלנו", ""),
            ("ar", "لقاء الشبكة: كل مجتمعاتنا ثنائية اللغة", ""),
        ),
    ),
    # --- Sumud Fields: Palestinian-led nonviolent solidarity --------------------------------
    ActionSeed(
        org="sumud-fields",
        title="حضور حامٍ: مرافقة الرعاة في جنوب جبال الخليل",
        language="ar",
        kind="protective_presence",
        region="west_bank",
        city="مسافر يطا",
        address="نقطة الالتقاء: مدخل قرية التواني، جنوب جبال الخليل",
        hidden=True,
        reveal_hours_before=24,
        approval=True,
        day=2,
        at="06:30",
        hours=6,
        causes=("land_housing", "nonviolence"),
        capacity=12,
        confirmed=5,
        pending=2,
        description="""نرافق الرعاة وعائلاتهم إلى المراعي، ونوثّق أي اعتداء بالكاميرا بهدوء ودون
مواجهة.

**قبل المشاركة:**

- حضور تدريب اللاعنف إلزامي
- **المشاركة بموافقة مسبقة** بعد محادثة قصيرة مع المنسقين
- أحذية مشي، ماء لليوم كله، غطاء للرأس

يُرسَل مكان اللقاء الدقيق للمقبولين قبل 24 ساعة من الموعد.""",
    ),
    ActionSeed(
        org="sumud-fields",
        cohosts=("common-road",),
        title="Accompany farmers to their land near Nablus",
        language="en",
        kind="protective_presence",
        region="west_bank",
        city="Nablus area",
        address="Meeting point: village council building, Burin",
        hidden=True,
        day=4,
        at="07:00",
        hours=7,
        causes=("land_housing", "nonviolence"),
        capacity=10,
        confirmed=10,
        waitlisted=4,
        description="""Palestinian farmers whose land lies near settlements face harassment
and attacks when they go to plough, prune or harvest. **International and Israeli volunteers
work alongside the families**: our presence makes attacks less likely, and documented when
they happen.

- A full day of farm work: bring gloves, water and sun protection
- Follow the farmers' and coordinators' instructions at all times
- The nonviolence briefing starts at 07:00 sharp

The exact meeting point is sent to confirmed volunteers only.""",
    ),
    ActionSeed(
        org="sumud-fields",
        title="تدريب على اللاعنف والتوثيق للمتطوعين الجدد",
        language="ar",
        kind="training",
        region="west_bank",
        city="بيت لحم",
        address="قاعة التدريب، شارع المهد، بيت لحم",
        approval=True,
        day=9,
        at="10:00",
        hours=6,
        causes=("nonviolence",),
        capacity=20,
        confirmed=6,
        pending=3,
        description="""تدريب إلزامي لكل من يريد المشاركة في الحضور الحامي.

- مبادئ اللاعنف وتاريخ المقاومة الشعبية السلمية
- **التوثيق الآمن**: التصوير، حفظ الأدلة، حماية الهويات
- الحقوق القانونية وما يجب فعله عند الاعتقال

التدريب بالعربية مع ترجمة إلى الإنجليزية، والمشاركة بعد الموافقة.""",
    ),
    ActionSeed(
        org="sumud-fields",
        title="Online orientation for international volunteers",
        language="en",
        kind="training",
        region="west_bank",
        city="",
        online_url="https://meet.example.org/sumud-fields/orientation",
        day=3,
        at="18:00",
        hours=1.5,
        causes=("nonviolence",),
        capacity=40,
        confirmed=7,
        description="""Thinking of joining us in the field? Start here.

1. Who we are, and why **Palestinian leadership** matters in solidarity work
2. What a protective-presence day looks like
3. Safety, visas, and what we expect from volunteers

Questions welcome. The session is not recorded, to protect participants.""",
    ),
    ActionSeed(
        org="sumud-fields",
        title="Report-back evening in Berlin: voices from the Jordan Valley",
        language="en",
        kind="advocacy",
        region="abroad",
        city="Berlin",
        timezone="Europe/Berlin",
        address="Nachbarschaftshaus, Kreuzberg, Berlin",
        day=36,
        at="19:00",
        hours=2,
        causes=("land_housing", "peace"),
        capacity=60,
        confirmed=4,
        description="""Volunteers just back from the field, and a shepherd from the Jordan
Valley joining by video, report on **home demolitions and access to water**.

- Photos and testimonies
- How to raise this with your representatives
- Questions in English and German

Times are Berlin time.""",
    ),
    ActionSeed(
        org="sumud-fields",
        title="المظاهرة الأسبوعية السلمية ضد هدم المنازل",
        language="ar",
        kind="demonstration",
        region="west_bank",
        city="الولجة",
        address="ساحة المسجد، الولجة",
        day=7,
        weekday=FRIDAY,
        at="12:30",
        hours=2,
        causes=("land_housing", "nonviolence"),
        confirmed=12,
        description="""كل يوم جمعة بعد الصلاة نسير بسلام إلى الأراضي المهدّدة بالمصادرة، رافعين
الأعلام واللافتات.

- **المسيرة لاعنفية** بالكامل: لا رشق حجارة ولا مواجهات
- مرحّب بالمتضامنين الدوليين والإسرائيليين
- أحضروا ماءً وغطاءً للرأس

يرافق المسيرة مراقبون قانونيون ومسعفون.""",
    ),
    ActionSeed(
        org="sumud-fields",
        title="יום עבודה בבקעה: שיקום מכלאות ומאגרי מים לרועים",
        language="he",
        kind="community_service",
        region="west_bank",
        city="בקעת הירדן",
        address="נקודת מפגש: החניון בכניסה לכפר פצאל",
        hidden=True,
        reveal_hours_before=24,
        day=24,
        at="07:30",
        hours=6,
        causes=("land_housing", "humanitarian"),
        capacity=15,
        confirmed=7,
        description="""יום עבודה עם משפחות רועים פלסטיניות בבקעת הירדן: **נשקם מכלאות ומאגרי
מים** שנהרסו.

- עבודה פיזית בשמש: כובע, שלושה ליטרים מים, נעלי עבודה
- הסעה מירושלים בשעה 06:00 (פרטים למאושרים)
- ההנחיה בשטח בערבית, עם תרגום לעברית

נקודת המפגש תישלח למתנדבים המאושרים 24 שעות לפני.""",
    ),
    ActionSeed(
        org="sumud-fields",
        title="حملة جمع طرود غذائية للعائلات المحتاجة في القدس",
        language="ar",
        kind="aid_drive",
        region="jerusalem",
        city="بيت حنينا",
        address="قاعة النادي، بيت حنينا",
        day=11,
        at="16:00",
        hours=3,
        causes=("humanitarian",),
        confirmed=10,
        description="""نجمع ونرتّب طرودًا غذائية لـ150 عائلة في أحياء القدس الشرقية.

**ما نحتاجه:**

- أرز، عدس، زيت، سكر، معلبات
- متطوعون لتعبئة الطرود وتوزيعها
- سيارات للتوزيع في نهاية اليوم

تُستقبل التبرعات العينية طوال فترة الحملة.""",
    ),
)


@dataclass(frozen=True)
class ShiftSeed:
    name: str
    start: str | None  # local "HH:MM" on the action's day; None: a role without set hours
    end: str | None
    capacity: int | None
    confirmed: int
    waitlisted: int = 0


# An aid drive in shifts: sorting and loading each with their own places (loading is full,
# with a waitlist), and drivers without a limit. Its volunteers sign up per shift.
SHIFT_DRIVE = ActionSeed(
    org="common-road",
    title="Aid depot day in Lod: sorting, loading and driving",
    language="en",
    kind="aid_drive",
    region="center",
    city="Lod",
    address="Community aid depot, 7 HaMelacha Street, Lod",
    day=9,
    at="08:00",
    hours=8,
    causes=("humanitarian",),
    description="""A full day at the depot in **three shifts**: choose one or more of them.

- **Sorting** (08:00–12:00): food, hygiene kits and blankets into family boxes
- **Loading the trucks** (12:00–16:00): some lifting, gloves provided
- **Drivers**: bring your own car to take boxes to families in Lod and Ramla

Closed shoes, water and a hat. Coffee and lunch on us.""",
)
DRIVE_SHIFTS: tuple[ShiftSeed, ...] = (
    ShiftSeed("Sorting", "08:00", "12:00", capacity=12, confirmed=7),
    ShiftSeed("Loading the trucks", "12:00", "16:00", capacity=6, confirmed=6, waitlisted=2),
    ShiftSeed("Drivers (with your own car)", None, None, capacity=None, confirmed=3),
)


def _seed_shift_drive(
    org: Organization, owner: User, existing: dict[tuple[int, str], int], today: date, now: datetime
) -> tuple[int, int]:
    """The aid drive in shifts, with sign-ups per shift, unless it exists; (its id, rows added)."""
    spec = SHIFT_DRIVE
    if (org.id, spec.title) in existing:
        return existing[(org.id, spec.title)], 0
    starts_at = _start(spec, org.timezone, today)
    posted = now - timedelta(days=8)
    event = Event(
        organization=org,
        title=spec.title,
        description_md=spec.description,
        description_html=render_markdown(spec.description),
        language=spec.language,
        kind=spec.kind,
        region=spec.region,
        city=spec.city,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=spec.hours),
        timezone=org.timezone,
        address=spec.address,
        waitlist_enabled=True,
        status=STATUS_PUBLISHED,
        created_by=owner,
        created_at=posted,
        updated_at=posted,
        published_at=posted,
    )
    event.causes = [EventCause(cause=c) for c in spec.causes]
    day = starts_at.astimezone(ZoneInfo(org.timezone)).date()

    def local(clock: str | None) -> datetime | None:
        if clock is None:
            return None
        hour, minute = (int(part) for part in clock.split(":"))
        return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(org.timezone))

    rows: list[Shift | Signup] = []
    guest = 3  # the first guests of the sorting shift load the trucks too
    for position, seed in enumerate(DRIVE_SHIFTS):
        shift = Shift(
            event=event,
            name=seed.name,
            starts_at=local(seed.start),
            ends_at=local(seed.end),
            capacity=seed.capacity,
            position=position,
        )
        rows.append(shift)
        statuses = [st.CONFIRMED] * seed.confirmed + [st.WAITLISTED] * seed.waitlisted
        for i, status in enumerate(statuses):
            name, email, locale = GUESTS[(guest + i) % len(GUESTS)]
            signup = _signup(event, name, email, locale, status, posted + timedelta(hours=i + 1))
            signup.shift = shift
            rows.append(signup)
        guest += max(len(statuses) - 2, 1)
    db.session.add(event)
    db.session.add_all(rows)
    db.session.flush()
    return event.id, 1 + len(spec.causes) + len(rows)


@dataclass(frozen=True)
class SeriesSeed:
    """An action of ACTIONS that repeats, and the guests who signed up for every date."""

    org: str
    title: str
    repeat: str  # services.series.REPEAT_*
    standing: tuple[int, ...] = ()  # indices into GUESTS


# Recurring actions, materialized six weeks ahead like the rest of the demo (`flask events
# extend` keeps them going): the weekly vigil, and the network's meeting every three months.
SERIES: tuple[SeriesSeed, ...] = (
    SeriesSeed(
        org="women-at-the-table",
        title="משמרת נשים שבועית: הגיע הזמן להסכם",
        repeat="weekly",
        standing=(0, 1, 4),
    ),
    SeriesSeed(
        org="two-languages-parents",
        title="Network meeting: all our bilingual communities",
        repeat="quarterly",
    ),
)
SERIES_HORIZON_WEEKS = 6


def _seed_series(orgs: dict[str, Organization], now: datetime) -> int:
    """Make each SERIES action repeat, unless it already does; returns the rows added. Runs
    after the main commit: the series service commits as it goes."""
    from .services import series as series_service

    added = 0
    for spec in SERIES:
        events = db.session.scalars(
            select(Event)
            .where(Event.organization_id == orgs[spec.org].id, Event.title == spec.title)
            .order_by(Event.starts_at)
        ).all()
        if not events or any(e.series_id is not None for e in events):
            continue
        first = events[0]
        local = series_service.to_local(first.starts_at, first.timezone)
        rule = series_service.build_rule(series_service.Repeat(spec.repeat), local, first.timezone)
        assert rule is not None
        series = series_service.create_series(first, rule, now, SERIES_HORIZON_WEEKS)
        added += len(series.occurrences)  # the series, and its dates after the first
        for index in spec.standing:
            name, email, locale = GUESTS[index % len(GUESTS)]
            _standing, joined = series_service.start_standing(
                series.id, name=name, email=email, locale=locale, now=now
            )
            added += 1 + len(joined)
    return added


# --- a network of organizations (issue 8) ---------------------------------------------------
# Three demo organizations belong to the coalition; Shared Hope is invited and has not answered
# (Yael sees the invitation on its Networks page). Lina and Ori coordinate the coalition, which
# holds a members' meeting every three months.

NETWORK = OrgSeed(
    slug="shared-future",
    name="Shared Future Coalition – קואליציית עתיד משותף – ائتلاف المستقبل المشترك",
    description=(
        "A coalition of Jewish–Arab and Israeli–Palestinian movements for peace and equality. "
        "Its page gathers the public actions of all its member organizations.\n\n"
        "קואליציה של תנועות יהודיות-ערביות וישראליות-פלסטיניות למען שלום ושוויון. בעמוד שלה "
        "מרוכזות הפעולות הציבוריות של כל הארגונים החברים.\n\n"
        "ائتلاف من حركات عربية-يهودية وفلسطينية-إسرائيلية من أجل السلام والمساواة. تجمع صفحته "
        "النشاطات العامة لكل المنظمات الأعضاء."
    ),
)
NETWORK_MEMBERS = ("common-road", "women-at-the-table", "two-languages-parents")
NETWORK_INVITED = ("shared-hope",)
NETWORK_USERS: tuple[UserSeed, ...] = (
    UserSeed("lina@demo.organizer", "Lina Darwish", "ar", NETWORK.slug, ROLE_OWNER),
    UserSeed("ori@demo.organizer", "Ori Ben-David", "he", NETWORK.slug),
)
NETWORK_MEETING = ActionSeed(
    org=NETWORK.slug,
    title="מפגש החברים הרבעוני של הקואליציה",
    language="he",
    kind="meeting",
    region="haifa_north",
    city="חיפה",
    address="בית הגפן, שדרות הציונות 2, חיפה",
    day=24,
    at="18:00",
    hours=2.5,
    causes=("peace", "equality"),
    description="""פעם בשלושה חודשים נפגשים נציגות ונציגים של **כל הארגונים החברים**:

- עדכונים מכל ארגון
- תכנון הפעולות המשותפות לרבעון הבא
- תרגום עברית–ערבית לאורך כל המפגש""",
    translations=(
        (
            "ar",
            "الاجتماع الفصلي لأعضاء الائتلاف",
            "مرة كل ثلاثة أشهر يلتقي ممثلات وممثلو **كل المنظمات الأعضاء**: أخبار من كل منظمة، "
            "وتخطيط النشاطات المشتركة للفصل القادم، مع ترجمة عربية–عبرية طوال اللقاء.",
        ),
        (
            "en",
            "Coalition members' quarterly meeting",
            "Every three months, representatives of **all member organizations** meet: news "
            "from each organization, planning the joint actions of the coming quarter, with "
            "Hebrew–Arabic interpretation throughout.",
        ),
    ),
)


def _seed_network(now: datetime) -> int:
    """The coalition, its coordinators, members and quarterly meeting, unless already there;
    returns the rows added. Runs after the main commit, like the series."""
    from .models import NetworkMembership
    from .models import network as nw
    from .services import series as series_service

    added = 0
    # The demo password, hashed once for every demo login.
    password_hash = db.session.scalar(
        select(User.password_hash).where(User.email == USERS[0].email)
    ) or generate_password_hash(DEMO_PASSWORD)
    network = db.session.scalar(select(Organization).where(Organization.slug == NETWORK.slug))
    if network is None:
        network = Organization(
            slug=NETWORK.slug,
            name=NETWORK.name,
            description=NETWORK.description,
            timezone=NETWORK.timezone,
            default_locale=NETWORK.default_locale,
            is_network=True,
            created_at=now - timedelta(days=200),
        )
        db.session.add(network)
        added += 1
    coordinators: list[User] = []
    for spec in NETWORK_USERS:
        user = db.session.scalar(select(User).where(func.lower(User.email) == spec.email))
        if user is None:
            user = User(
                email=spec.email,
                name=spec.name,
                password_hash=password_hash,
                locale=spec.locale,
                timezone=spec.timezone,
                created_at=now - timedelta(days=190),
                email_confirmed_at=now - timedelta(days=190),
            )
            db.session.add(user)
            added += 1
        if not _is_member(network, user):
            db.session.add(
                Membership(organization=network, user=user, role=spec.role, created_at=now)
            )
            added += 1
        coordinators.append(user)
    db.session.flush()
    lina = coordinators[0]

    members = {
        o.slug: o
        for o in db.session.scalars(
            select(Organization).where(Organization.slug.in_(NETWORK_MEMBERS + NETWORK_INVITED))
        )
    }
    live = set(
        db.session.scalars(
            select(NetworkMembership.member_id).where(
                NetworkMembership.network_id == network.id,
                NetworkMembership.status.in_(nw.LIVE_STATUSES),
            )
        )
    )
    for i, slug in enumerate(NETWORK_MEMBERS + NETWORK_INVITED):
        member = members.get(slug)
        if member is None or member.id in live:
            continue
        invited_at = now - timedelta(days=150 - 10 * i)
        active = slug in NETWORK_MEMBERS
        db.session.add(
            NetworkMembership(
                network_id=network.id,
                member_id=member.id,
                status=nw.NETWORK_ACTIVE if active else nw.NETWORK_INVITED,
                created_at=invited_at,
                invited_by_id=lina.id,
                invited_at=invited_at,
                accepted_at=invited_at + timedelta(days=2) if active else None,
            )
        )
        added += 1

    spec = NETWORK_MEETING
    exists_already = db.session.scalar(
        select(Event.id).where(Event.organization_id == network.id, Event.title == spec.title)
    )
    if exists_already is None:
        today = now.astimezone(ZoneInfo(JERUSALEM)).date()
        starts_at = _start(spec, network.timezone, today)
        posted = now - timedelta(days=12)
        meeting = Event(
            organization=network,
            title=spec.title,
            description_md=spec.description,
            description_html=render_markdown(spec.description),
            language=spec.language,
            kind=spec.kind,
            region=spec.region,
            city=spec.city,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=spec.hours),
            timezone=network.timezone,
            address=spec.address,
            status=STATUS_PUBLISHED,
            created_by=lina,
            created_at=posted,
            updated_at=posted,
            published_at=posted,
        )
        meeting.causes = [EventCause(cause=c) for c in spec.causes]
        meeting.translations = [
            EventTranslation(
                locale=locale,
                title=title,
                description_md=text,
                description_html=render_markdown(text),
            )
            for locale, title, text in spec.translations
        ]
        db.session.add(meeting)
        added += 1 + len(spec.causes) + len(spec.translations)
    db.session.commit()

    first = db.session.scalars(
        select(Event)
        .where(Event.organization_id == network.id, Event.title == spec.title)
        .order_by(Event.starts_at)
    ).first()
    if first is not None and first.series_id is None:
        local = series_service.to_local(first.starts_at, first.timezone)
        repeat = series_service.Repeat(series_service.REPEAT_QUARTERLY)
        rule = series_service.build_rule(repeat, local, first.timezone)
        assert rule is not None
        series = series_service.create_series(first, rule, now, SERIES_HORIZON_WEEKS)
        added += len(series.occurrences)
    return added


def _start(spec: ActionSeed, timezone: str, today: date) -> datetime:
    """The action's start in UTC: a local wall-clock time on a day counted from `today`."""
    day = today + timedelta(days=max(spec.day, 1))
    if spec.weekday is not None:
        day += timedelta(days=(spec.weekday - day.weekday()) % 7)
    elif day.weekday() in (FRIDAY, SATURDAY):  # only the weekly actions keep the weekend
        day += timedelta(days=6 - day.weekday())
    hour, minute = (int(part) for part in spec.at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def _guest_signups(
    spec: ActionSeed, event: Event, offset: int, published_at: datetime, volunteer: User
) -> list[Signup]:
    """Confirmed first, then waitlisted, then pending, in the order they signed up."""
    statuses = (
        [st.CONFIRMED] * spec.confirmed
        + [st.WAITLISTED] * spec.waitlisted
        + [st.PENDING] * spec.pending
    )
    rows: list[Signup] = []
    for i, status in enumerate(statuses):
        name, email, locale = GUESTS[(offset + i) % len(GUESTS)]
        rows.append(
            _signup(event, name, email, locale, status, published_at + timedelta(hours=2 * i + 1))
        )
    if spec.demo_volunteer:
        signed_up = published_at + timedelta(hours=2 * len(statuses) + 1)
        row = _signup(event, volunteer.name, volunteer.email, "en", spec.demo_volunteer, signed_up)
        row.user = volunteer
        rows.append(row)
    return rows


def _signup(event: Event, name: str, email: str, locale: str, status: str, at: datetime) -> Signup:
    return Signup(
        event=event,
        name=name,
        email=email,
        phone=f"+972-50-000-{sum(map(ord, email)) % 10000:04d}" if locale != "en" else "",
        locale=locale,
        status=status,
        created_at=at,
        updated_at=at,
        queued_at=at,
        confirmed_at=at if status == st.CONFIRMED else None,
    )


def _is_member(org: Organization, user: User) -> bool:
    if org.id is None or user.id is None:  # created in this run
        return False
    return (
        db.session.scalar(
            select(Membership.id).where(
                Membership.organization_id == org.id, Membership.user_id == user.id
            )
        )
        is not None
    )


@dataclass(frozen=True)
class PastSeed:
    """A kind of action an organization held every other week before the demo's `now`:
    the dashboard's history (sign-ups, attendance). `title` takes the week's number."""

    org: str
    title: str
    language: str
    kind: str
    region: str
    city: str
    address: str
    description: str
    show_rate: int  # of every 8 confirmed volunteers, how many came


# Two alternating actions per organization over the HISTORY_WEEKS before `now`, with sign-ups
# (new volunteers each week, more and more returning ones) and attendance taken at each.
PAST_ACTIONS: tuple[PastSeed, ...] = (
    PastSeed(
        org="common-road",
        title="משמרת שכונתית ביפו · מפגש {n}",
        language="he",
        kind="demonstration",
        region="tel_aviv",
        city="תל אביב–יפו",
        address="כיכר השעון, יפו",
        description="משמרת שקטה עם שלטים בעברית ובערבית.\n\n- **שלטים** במקום\n- מים וכובע",
        show_rate=6,
    ),
    PastSeed(
        org="common-road",
        title="Organizing training, session {n}",
        language="en",
        kind="training",
        region="tel_aviv",
        city="Tel Aviv–Jaffa",
        address="Community hall, 12 Yefet Street, Jaffa",
        description="How to run a neighbourhood meeting.\n\n- **Facilitation** in pairs\n- Tea",
        show_rate=7,
    ),
    PastSeed(
        org="shared-hope",
        title="Dialogue circle, evening {n}",
        language="en",
        kind="dialogue",
        region="jerusalem",
        city="Jerusalem",
        address="Forum house, 5 Emek Refaim, Jerusalem",
        description="Bereaved parents from both peoples tell their stories.\n\n- **Listen** first",
        show_rate=7,
    ),
    PastSeed(
        org="shared-hope",
        title="Memorial evening volunteers, meeting {n}",
        language="en",
        kind="meeting",
        region="jerusalem",
        city="Jerusalem",
        address="Forum house, 5 Emek Refaim, Jerusalem",
        description="Preparing the joint memorial.\n\n- **Roles** for the evening\n- Translation",
        show_rate=5,
    ),
    PastSeed(
        org="women-at-the-table",
        title="דוכן הסברה במרכז העיר · {n}",
        language="he",
        kind="advocacy",
        region="haifa_north",
        city="חיפה",
        address="כיכר פריז, חיפה",
        description="מדברות עם עוברות ושבים על הסכם.\n\n- **עלונים** בעברית ובערבית",
        show_rate=6,
    ),
    PastSeed(
        org="two-languages-parents",
        title="Shelter clean-up, round {n}",
        language="en",
        kind="community_service",
        region="galilee",
        city="Karmiel",
        address="Bilingual school, 3 HaGefen Street, Karmiel",
        description="Clearing and stocking the school's shelter.\n\n- **Gloves** provided",
        show_rate=7,
    ),
    PastSeed(
        org="sumud-fields",
        title="حضور حامٍ في موسم القطاف · يوم {n}",
        language="ar",
        kind="protective_presence",
        region="west_bank",
        city="بيت لحم",
        address="ساحة الكنيسة، بيت لحم",
        description="نرافق المزارعين إلى أراضيهم.\n\n- **حذاء** مريح وماء",
        show_rate=6,
    ),
    PastSeed(
        org="sumud-fields",
        title="تدريب على اللاعنف · لقاء {n}",
        language="ar",
        kind="training",
        region="west_bank",
        city="بيت لحم",
        address="قاعة المركز، بيت لحم",
        description="أساسيات العمل اللاعنفي.\n\n- **تمارين** في مجموعات",
        show_rate=8,
    ),
)
HISTORY_WEEKS = 10
READERS_PER_ORG = 14  # digest subscribers following each organization, confirmed over time


def past_action_titles() -> set[str]:
    """Every title _seed_history may give (the tests tell the past actions from the rest)."""
    return {spec.title.format(n=n + 1) for spec in PAST_ACTIONS for n in range(HISTORY_WEEKS)}


def _past_start(spec: PastSeed, timezone: str, week: int, now: datetime) -> datetime:
    """18:00 local on a Monday-to-Wednesday of the week `HISTORY_WEEKS - week` before now's."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday(), weeks=HISTORY_WEEKS - week)
    day = monday + timedelta(days=sum(map(ord, spec.title)) % 3)
    return datetime.combine(day, time(18, 0), tzinfo=zone).astimezone(UTC)


def _seed_history(orgs: dict[str, Organization], now: datetime, progress: Progress = SILENT) -> int:
    """Past actions with sign-ups and attendance (attended or no-show), and digest subscribers
    who confirmed week after week, so the organizers' dashboard has something to show; only
    what is missing (by title and by address). Returns the rows added."""
    from .models import Subscription, SubscriptionOrganization
    from .models.digest import SUB_ACTIVE, SUB_UNSUBSCRIBED

    existing = set(
        db.session.execute(
            select(Event.organization_id, Event.title).where(Event.title.in_(past_action_titles()))
        ).tuples()
    )
    added = 0
    by_org: dict[str, list[PastSeed]] = {}
    for spec in PAST_ACTIONS:
        by_org.setdefault(spec.org, []).append(spec)
    for slug, specs in by_org.items():
        org = orgs[slug]
        for week in range(HISTORY_WEEKS):
            spec = specs[week % len(specs)]
            title = spec.title.format(n=week + 1)
            if (org.id, title) in existing:
                continue
            starts_at = _past_start(spec, org.timezone, week, now)
            posted = starts_at - timedelta(days=10)
            event = Event(
                organization=org,
                title=title,
                description_md=spec.description,
                description_html=render_markdown(spec.description),
                language=spec.language,
                kind=spec.kind,
                region=spec.region,
                city=spec.city,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
                timezone=org.timezone,
                address=spec.address,
                status=STATUS_PUBLISHED,
                created_at=posted,
                updated_at=posted,
                published_at=posted,
            )
            # Each week two or three newcomers join the volunteers who came before.
            count = 5 + (week * 3 + len(slug)) % 6
            first = (week * 2 + len(slug)) % len(GUESTS)
            rows = []
            for i in range(count):
                name, email, locale = GUESTS[(first + i) % len(GUESTS)]
                at = starts_at - timedelta(days=1 + i % 5, hours=i)
                signup = _signup(event, name, email, locale, st.CONFIRMED, at)
                came = (i + week) % 8 < spec.show_rate
                signup.attendance = st.ATTENDED if came else st.NO_SHOW
                signup.checked_in_at = starts_at + timedelta(minutes=5 + i) if came else None
                rows.append(signup)
            db.session.add(event)
            db.session.add_all(rows)
            added += 1 + len(rows)
        progress.advance()

    emails = [
        f"reader{i + 1}.{slug}@example.org" for slug in by_org for i in range(READERS_PER_ORG)
    ]
    known = set(
        db.session.scalars(select(Subscription.email).where(Subscription.email.in_(emails)))
    )
    for slug in by_org:
        org = orgs[slug]
        for i in range(READERS_PER_ORG):
            email = f"reader{i + 1}.{slug}@example.org"
            if email in known:
                continue
            confirmed = now - timedelta(weeks=12) + timedelta(days=6 * i, hours=3)
            left = i % 5 == 4  # every fifth reader unsubscribed three weeks after confirming
            locale = ("he", "ar", "en")[i % 3]
            subscription = Subscription(
                email=email,
                locale=locale,
                timezone=org.timezone,
                status=SUB_UNSUBSCRIBED if left else SUB_ACTIVE,
                created_at=confirmed - timedelta(minutes=10),
                confirmed_at=confirmed,
                unsubscribed_at=confirmed + timedelta(weeks=3) if left else None,
            )
            subscription.organizations = [SubscriptionOrganization(organization=org)]
            db.session.add(subscription)
            added += 2
    db.session.commit()
    return added


def seed(now: datetime | None = None, progress: Progress = SILENT) -> str:
    """Create whatever demo rows are missing, in one transaction; return a one-line summary.
    `progress` counts the steps: each action, then each later part, each organization's past."""
    now = now or datetime.now(UTC)
    created = 0
    progress.start(len(ACTIONS) + 3 + len({p.org for p in PAST_ACTIONS}))

    orgs: dict[str, Organization] = {}
    for i, spec in enumerate(ORGANIZATIONS):
        org = db.session.scalar(select(Organization).where(Organization.slug == spec.slug))
        if org is None:
            org = Organization(
                slug=spec.slug,
                name=spec.name,
                description=spec.description,
                timezone=spec.timezone,
                default_locale=spec.default_locale,
                created_at=now - timedelta(days=400 - 30 * i),
            )
            db.session.add(org)
            created += 1
        orgs[spec.slug] = org

    users: dict[str, User] = {}
    owners: dict[str, User] = {}
    password_hash = ""
    for i, spec in enumerate(USERS):
        user = db.session.scalar(select(User).where(func.lower(User.email) == spec.email))
        if user is None:
            password_hash = password_hash or generate_password_hash(DEMO_PASSWORD)
            joined = now - timedelta(days=380 - 20 * i)
            user = User(
                email=spec.email,
                name=spec.name,
                password_hash=password_hash,
                locale=spec.locale,
                timezone=spec.timezone,
                is_admin=spec.is_admin,
                created_at=joined,
                email_confirmed_at=joined + timedelta(minutes=5),
            )
            db.session.add(user)
            created += 1
        users[spec.email] = user
        if spec.org is None:
            continue
        if spec.role == ROLE_OWNER:
            owners.setdefault(spec.org, user)
        if not _is_member(orgs[spec.org], user):
            db.session.add(
                Membership(organization=orgs[spec.org], user=user, role=spec.role, created_at=now)
            )
            created += 1

    db.session.flush()
    existing = {
        (org_id, title): event_id
        for event_id, org_id, title in db.session.execute(
            select(Event.id, Event.organization_id, Event.title).where(
                Event.organization_id.in_([o.id for o in orgs.values()])
            )
        )
    }
    today = now.astimezone(ZoneInfo(JERUSALEM)).date()
    for i, spec in enumerate(ACTIONS):
        progress.advance()
        org = orgs[spec.org]
        key = (org.id, spec.title)
        if key in existing:
            continue
        timezone = spec.timezone or org.timezone
        starts_at = _start(spec, timezone, today)
        posted = now - timedelta(days=10, hours=i)
        published = spec.status == STATUS_PUBLISHED
        event = Event(
            organization=org,
            title=spec.title,
            description_md=spec.description,
            description_html=render_markdown(spec.description),
            language=spec.language,
            kind=spec.kind,
            region=spec.region,
            city=spec.city,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=spec.hours),
            timezone=timezone,
            is_online=bool(spec.online_url),
            address=spec.address,
            online_url=spec.online_url,
            capacity=spec.capacity,
            waitlist_enabled=True,
            approval_required=spec.approval,
            visibility=spec.visibility,
            location_visibility=LOCATION_CONFIRMED if spec.hidden else LOCATION_PUBLIC,
            reveal_hours_before=spec.reveal_hours_before,
            status=spec.status,
            created_by=owners[spec.org],
            created_at=posted,
            updated_at=posted,
            published_at=posted if published else None,
        )
        event.causes = [EventCause(cause=c) for c in spec.causes]
        event.translations = [
            EventTranslation(
                locale=locale,
                title=title,
                description_md=text,
                description_html=render_markdown(text),
            )
            for locale, title, text in spec.translations
        ]
        asked = {"requested_by": owners[spec.org], "requested_at": posted}
        event.cohosts = [
            EventHost(organization=orgs[slug], status=COHOST_ACCEPTED, responded_at=posted, **asked)
            for slug in spec.cohosts
        ] + [
            EventHost(organization=orgs[slug], status=COHOST_PENDING, **asked)
            for slug in spec.pending_cohosts
        ]
        signups = _guest_signups(spec, event, 7 * i, posted, users[VOLUNTEER_EMAIL])
        db.session.add(event)
        db.session.add_all(signups)
        db.session.flush()
        created += 1 + len(spec.causes) + len(event.cohosts) + len(signups)

    org, owner = orgs[SHIFT_DRIVE.org], owners[SHIFT_DRIVE.org]
    _, rows = _seed_shift_drive(org, owner, existing, today, now)
    created += rows

    db.session.commit()
    progress.advance()
    created += _seed_series(orgs, now)
    progress.advance()
    created += _seed_network(now)
    progress.advance()
    created += _seed_history(orgs, now, progress)

    def total(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model))

    # What the demo holds now (networks, series dates and past weeks included), and this run's part.
    return (
        f"Seeded {total(Organization)} organizations, {total(User)} users, "
        f"{total(Event)} actions, {total(Signup)} sign-ups (created {created} new rows)"
    )
