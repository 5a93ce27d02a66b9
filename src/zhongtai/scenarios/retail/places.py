"""Place material: the cities the retailer trades in, their districts with real GB/T 2260 codes (the first
six digits of a resident ID number), and street and housing-estate names for addresses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    name: str
    pinyin: str
    code: str


@dataclass(frozen=True)
class City:
    province: str  # empty for the four municipalities, whose addresses start with the city
    name: str
    pinyin: str
    weight: float  # share of the retailer's customers
    districts: tuple[District, ...]


def _districts(*items: tuple[str, str, str]) -> tuple[District, ...]:
    return tuple(District(*item) for item in items)


CITIES: tuple[City, ...] = (
    City(
        "",
        "上海市",
        "Shanghai",
        14,
        _districts(
            ("黄浦区", "Huangpu", "310101"),
            ("徐汇区", "Xuhui", "310104"),
            ("浦东新区", "Pudong", "310115"),
            ("闵行区", "Minhang", "310112"),
            ("静安区", "Jing'an", "310106"),
        ),
    ),
    City(
        "",
        "北京市",
        "Beijing",
        12,
        _districts(
            ("东城区", "Dongcheng", "110101"),
            ("西城区", "Xicheng", "110102"),
            ("朝阳区", "Chaoyang", "110105"),
            ("海淀区", "Haidian", "110108"),
            ("丰台区", "Fengtai", "110106"),
        ),
    ),
    City(
        "广东省",
        "广州市",
        "Guangzhou",
        9,
        _districts(
            ("越秀区", "Yuexiu", "440104"),
            ("天河区", "Tianhe", "440106"),
            ("海珠区", "Haizhu", "440105"),
            ("白云区", "Baiyun", "440111"),
        ),
    ),
    City(
        "广东省",
        "深圳市",
        "Shenzhen",
        9,
        _districts(
            ("福田区", "Futian", "440304"),
            ("南山区", "Nanshan", "440305"),
            ("罗湖区", "Luohu", "440303"),
            ("宝安区", "Bao'an", "440306"),
        ),
    ),
    City(
        "浙江省",
        "杭州市",
        "Hangzhou",
        7,
        _districts(
            ("上城区", "Shangcheng", "330102"), ("西湖区", "Xihu", "330106"), ("滨江区", "Binjiang", "330108")
        ),
    ),
    City(
        "四川省",
        "成都市",
        "Chengdu",
        6,
        _districts(
            ("锦江区", "Jinjiang", "510104"), ("青羊区", "Qingyang", "510105"), ("武侯区", "Wuhou", "510107")
        ),
    ),
    City(
        "江苏省",
        "南京市",
        "Nanjing",
        5,
        _districts(
            ("玄武区", "Xuanwu", "320102"), ("秦淮区", "Qinhuai", "320104"), ("鼓楼区", "Gulou", "320106")
        ),
    ),
    City(
        "湖北省",
        "武汉市",
        "Wuhan",
        5,
        _districts(
            ("江岸区", "Jiang'an", "420102"),
            ("武昌区", "Wuchang", "420106"),
            ("洪山区", "Hongshan", "420111"),
        ),
    ),
    City(
        "江苏省",
        "苏州市",
        "Suzhou",
        4,
        _districts(
            ("姑苏区", "Gusu", "320508"), ("吴中区", "Wuzhong", "320506"), ("虎丘区", "Huqiu", "320505")
        ),
    ),
    City(
        "",
        "重庆市",
        "Chongqing",
        4,
        _districts(
            ("渝中区", "Yuzhong", "500103"), ("江北区", "Jiangbei", "500105"), ("渝北区", "Yubei", "500112")
        ),
    ),
    City(
        "陕西省",
        "西安市",
        "Xi'an",
        4,
        _districts(("新城区", "Xincheng", "610102"), ("雁塔区", "Yanta", "610113")),
    ),
    City(
        "", "天津市", "Tianjin", 4, _districts(("和平区", "Heping", "120101"), ("河西区", "Hexi", "120103"))
    ),
    City(
        "湖南省",
        "长沙市",
        "Changsha",
        3,
        _districts(("芙蓉区", "Furong", "430102"), ("岳麓区", "Yuelu", "430104")),
    ),
    City(
        "河南省",
        "郑州市",
        "Zhengzhou",
        3,
        _districts(("中原区", "Zhongyuan", "410102"), ("金水区", "Jinshui", "410105")),
    ),
    City(
        "山东省",
        "青岛市",
        "Qingdao",
        3,
        _districts(("市南区", "Shinan", "370202"), ("崂山区", "Laoshan", "370212")),
    ),
    City(
        "福建省",
        "厦门市",
        "Xiamen",
        2,
        _districts(("思明区", "Siming", "350203"), ("湖里区", "Huli", "350206")),
    ),
    City(
        "浙江省",
        "宁波市",
        "Ningbo",
        2,
        _districts(("海曙区", "Haishu", "330203"), ("鄞州区", "Yinzhou", "330212")),
    ),
    City(
        "辽宁省",
        "沈阳市",
        "Shenyang",
        2,
        _districts(("和平区", "Heping", "210102"), ("沈河区", "Shenhe", "210103")),
    ),
)

# Birthplaces of people who moved to the retailer's cities (ID numbers keep the birthplace code).
BIRTHPLACE_CODES: tuple[str, ...] = (
    "130102",
    "140105",
    "230103",
    "340104",
    "360102",
    "370102",
    "410302",
    "411302",
    "421002",
    "430602",
    "450103",
    "520102",
    "530102",
    "620102",
    "220102",
    "150102",
    "350102",
    "440508",
    "441302",
    "510603",
)

ROADS: tuple[tuple[str, str], ...] = (
    ("人民路", "Renmin Rd"),
    ("解放路", "Jiefang Rd"),
    ("中山路", "Zhongshan Rd"),
    ("建设路", "Jianshe Rd"),
    ("和平路", "Heping Rd"),
    ("长江路", "Changjiang Rd"),
    ("黄河路", "Huanghe Rd"),
    ("新华路", "Xinhua Rd"),
    ("文化路", "Wenhua Rd"),
    ("科技路", "Keji Rd"),
    ("学府路", "Xuefu Rd"),
    ("滨江大道", "Binjiang Ave"),
    ("世纪大道", "Shiji Ave"),
    ("青年路", "Qingnian Rd"),
    ("工业路", "Gongye Rd"),
    ("光明路", "Guangming Rd"),
    ("胜利路", "Shengli Rd"),
    ("朝阳路", "Chaoyang Rd"),
    ("花园路", "Huayuan Rd"),
    ("东风路", "Dongfeng Rd"),
    ("幸福路", "Xingfu Rd"),
    ("民主路", "Minzhu Rd"),
    ("延安路", "Yan'an Rd"),
    ("北京路", "Beijing Rd"),
    ("上海路", "Shanghai Rd"),
    ("湖滨路", "Hubin Rd"),
    ("金融街", "Jinrong St"),
    ("商业街", "Shangye St"),
    ("银杏路", "Yinxing Rd"),
    ("梧桐路", "Wutong Rd"),
    ("紫荆路", "Zijing Rd"),
    ("望江路", "Wangjiang Rd"),
)

ESTATES: tuple[str, ...] = (
    "阳光花园",
    "幸福小区",
    "锦绣华庭",
    "翠湖苑",
    "紫荆公寓",
    "世纪新城",
    "东方名苑",
    "金色家园",
    "碧水湾",
    "绿洲花园",
    "枫林小区",
    "春江花月",
    "星河湾",
    "滨江一号",
    "香樟园",
    "御景苑",
    "明珠大厦",
    "和谐家园",
    "山水华府",
    "书香门第",
    "丽景花园",
    "海棠湾",
    "中央公园",
    "未来城",
)
