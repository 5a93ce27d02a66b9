"""Pinyin for names: characters to toneless pinyin (surname readings included), the syllable split of
written pinyin, and a small traditional-to-simplified table for name characters.

pypinyin supplies the readings; it is imported on first use (its dictionary takes ~0.2 s to load).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Two-character family names: the first two characters of a name are the surname when they are one of these.
_COMPOUND = (
    "欧阳 司马 诸葛 上官 东方 皇甫 令狐 慕容 尉迟 公孙 夏侯 长孙 宇文 司徒 端木 独孤 南宫 西门 万俟 轩辕 "
    "呼延 申屠 闻人 澹台 公冶 太史 赫连 钟离 宗政 濮阳 淳于 单于 拓跋"
)
COMPOUND_SURNAMES = frozenset(_COMPOUND.split())
# Characters read differently as a family name than in ordinary words (曾 is zeng, not ceng).
SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "查": "zha",
    "区": "ou",
    "盖": "ge",
    "乐": "yue",
    "缪": "miao",
    "翟": "zhai",
    "覃": "qin",
    "种": "chong",
    "员": "yun",
    "召": "shao",
    "秘": "bi",
    "牟": "mu",
    "薄": "bo",
    "长孙": "zhangsun",
    "尉迟": "yuchi",
    "万俟": "moqi",
    "单于": "chanyu",
}
# The common family names, most frequent first: used to tell which Latin token is the surname.
COMMON_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
    "向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌"
    "毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦"
    "麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明"
)
# Traditional forms of common name characters (Hong Kong, Taiwan, a traditional input method). Name
# characters only: full conversion needs a phrase-aware converter, and names rarely need more than this.
TRADITIONAL = {
    old: new
    for old, new in zip(
        "陳劉張黃楊趙吳孫鄭鄧馮許韓蘇葉羅謝鍾鐘盧陸蔣賈呂錢鄒顧龔閆嚴範湯賴萬閻溫歐陽諸區塗鄺莊薛龐聶葉"
        "麗華偉軍濤輝鵬飛凱曉紅蘭鳳夢穎龍東國誌寧艷豔馬傑強剛帥義禮聰賢靜潔雲蓮榮勝慶嬌愛倫儀瑩婭嵐鳴詩雙"
        "書億衛軒銘鋒滿連進運達遠順嘉園華寶貴麗琳玲齊鑫錦銀濱瀾潤澤漢廣興發東燕亞嬋媛",
        "陈刘张黄杨赵吴孙郑邓冯许韩苏叶罗谢钟钟卢陆蒋贾吕钱邹顾龚闫严范汤赖万阎温欧阳诸区涂邝庄薛庞聂叶"
        "丽华伟军涛辉鹏飞凯晓红兰凤梦颖龙东国志宁艳艳马杰强刚帅义礼聪贤静洁云莲荣胜庆娇爱伦仪莹娅岚鸣诗双"
        "书亿卫轩铭锋满连进运达远顺嘉园华宝贵丽琳玲齐鑫锦银滨澜润泽汉广兴发东燕亚婵媛",
        strict=True,
    )
    if old != new
}
_UMLAUT = re.compile(r"^([ln])(?:v|yu|u:)")


def simplify(text: str) -> str:
    """Traditional name characters to simplified, character by character (see TRADITIONAL)."""
    return "".join(TRADITIONAL.get(char, char) for char in text)


def split_han_name(han: str) -> tuple[str, str]:
    """(surname, given name) of a name in characters: a known two-character surname, else the first."""
    if len(han) > 2 and han[:2] in COMPOUND_SURNAMES:
        return han[:2], han[2:]
    return han[:1], han[1:]


def han_pinyin(text: str, surname: bool = False) -> list[str]:
    """Toneless lower-case pinyin per character; `surname` uses family-name readings (曾 → zeng)."""
    if surname and text in SURNAME_READINGS:
        return segment(SURNAME_READINGS[text])
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text, style=Style.NORMAL, errors="ignore")
    if surname and text[:1] in SURNAME_READINGS:
        syllables[0] = SURNAME_READINGS[text[0]]
    return [fold_umlaut(s) for s in syllables]


def fold_umlaut(token: str) -> str:
    """ü is written lv, lyu, lu or u: (at the start of a token) lv / lyu / nv become lu / nu."""
    return _UMLAUT.sub(r"\1u", token)


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable with a vowel (ü folded as in `fold_umlaut`)."""
    from pypinyin.pinyin_dict import pinyin_dict

    found: set[str] = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            plain = unicodedata.normalize("NFKD", reading.replace("ü", "v"))
            plain = "".join(c for c in plain if c.isascii() and c.isalpha())
            if re.search(r"[aeiouv]", plain):
                found.add(fold_umlaut(plain))
    return frozenset(found)


@lru_cache(maxsize=1)
def surname_pinyin() -> dict[str, int]:
    """Pinyin of the common family names with their frequency rank (0 = 王), to recognise a surname
    written in Latin letters; two-character surnames rank after the single ones."""
    ranks: dict[str, int] = {}
    for rank, name in enumerate([*COMMON_SURNAMES, *sorted(COMPOUND_SURNAMES)]):
        ranks.setdefault("".join(han_pinyin(name, surname=True)), rank)
    return ranks


@lru_cache(maxsize=65536)
def segment(token: str) -> list[str]:
    """Split written pinyin into syllables ('xiaoming' → xiao, ming), fewest syllables first;
    [token] itself when it is not pinyin (a Latin name such as 'smith')."""
    known = syllables()
    best: list[list[str] | None] = [None] * (len(token) + 1)
    best[0] = []
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - 6), end):  # the longest syllable, zhuang, has six letters
            head = best[start]
            if head is not None and token[start:end] in known:
                candidate = [*head, token[start:end]]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[-1] or [token]
