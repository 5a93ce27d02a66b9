"""What customers write to customer service, per intent, in Chinese and English.

Intents share words on purpose (a complaint mentions the refund, a cancellation asks for the money back,
a late parcel gets angry), so an intent model has to read the request, not spot one keyword.
Slots: {order_no} {product} {days} {amount} {city} {phone} {member}.
"""

from __future__ import annotations

INTENTS = (
    "order_status",
    "refund_request",
    "return_item",
    "delivery_delay",
    "product_inquiry",
    "complaint",
    "account_issue",
    "payment_problem",
    "change_address",
    "cancel_order",
)

ZH: dict[str, tuple[str, ...]] = {
    "order_status": (
        "我的订单{order_no}现在到哪里了？",
        "请问订单{order_no}发货了吗",
        "前几天买的{product}，想查一下物流状态",
        "订单{order_no}显示已付款，什么时候能发货？",
        "能帮我看看{order_no}这个单子的进度吗",
        "买的东西一直显示处理中，是什么情况",
        "查一下我的订单，用手机号{phone}下的单",
        "{product}什么时候能到？想确认一下订单状态",
        "订单有更新吗，下单后就没消息了",
    ),
    "refund_request": (
        "订单{order_no}已经取消了，钱什么时候退回来？",
        "申请退款，{product}不想要了",
        "退款{amount}元到现在还没到账，请尽快处理",
        "我要退款！东西和描述完全不一样",
        "已经退货了，退款怎么还没收到",
        "请把{order_no}的钱退给我，原路退回就行",
        "刚买完就降价了，能退差价吗",
        "退款进度怎么查？等了{days}天了",
        "商家同意退款了，但是银行卡没收到钱",
    ),
    "return_item": (
        "{product}尺码不合适，想退货",
        "收到的{product}有质量问题，申请退货",
        "怎么办理退货？订单号{order_no}",
        "七天无理由退货怎么操作",
        "商品有破损，我要退回去",
        "买的{product}颜色不对，可以退货吗",
        "退货地址是哪里？快递要自己寄吗",
        "想把{product}拿到{city}的门店退，可以吗",
        "用了一次就坏了，想退掉换别的",
    ),
    "delivery_delay": (
        "订单{order_no}已经{days}天了还没收到",
        "快递怎么这么慢，说好三天到的",
        "物流信息好几天没更新了",
        "我的包裹一直在{city}中转站不动",
        "都一个星期了还没发货，什么情况？",
        "说好今天送到的，到现在也没人联系我",
        "物流显示已签收但是我没收到货",
        "催一下发货，着急用",
        "{product}预计送达时间已经过了{days}天",
    ),
    "product_inquiry": (
        "{product}有现货吗？",
        "请问{product}和上一代有什么区别",
        "{city}的门店有{product}卖吗",
        "这个{product}适合敏感肌吗",
        "{product}保修多久？",
        "想问一下{product}的尺码怎么选，身高170",
        "{product}什么时候补货",
        "双十一{product}会降价吗",
        "{product}是正品吗，有没有发票",
    ),
    "complaint": (
        "你们的服务太差了，打了三次电话都没人处理",
        "店员态度非常恶劣，我要投诉",
        "第二次买到质量有问题的{product}了，很失望",
        "客服一直推脱，问题拖了{days}天都没解决，再这样就不在你们家买了",
        "快递员态度很差，东西直接扔在门口，必须给个说法",
        "会员积分莫名其妙被清零，太坑了",
        "退款拖了这么久，我要去12315投诉你们",
        "宣传和实际完全不符，欺骗消费者",
        "在{city}门店排队半小时没人管，体验极差",
        "已经对你们彻底失望了，以后不会再买",
    ),
    "account_issue": (
        "登录不了App，一直提示密码错误",
        "手机号换了，会员账号怎么改绑",
        "收不到验证码",
        "我的会员积分怎么少了",
        "想注销账号",
        "会员卡{member}查不到积分记录",
        "账号被锁定了，怎么解锁",
        "怎么修改绑定的手机号和邮箱",
        "小程序和App的会员信息不同步",
    ),
    "payment_problem": (
        "付款失败但是钱被扣了",
        "微信支付一直显示支付中",
        "重复扣款了两次，订单{order_no}",
        "信用卡付不了款，提示交易异常",
        "支付宝付款后订单还是待付款",
        "优惠券用不了，结算的时候没减",
        "门店刷卡扣了{amount}元，小票上金额不对",
        "分期付款的选项怎么没有了",
        "付款页面一直转圈，扣了钱订单没生成",
    ),
    "change_address": (
        "订单{order_no}的收货地址写错了，麻烦改成{city}的新地址",
        "我搬家了，能帮我改一下收货地址吗",
        "地址填错了，还没发货的话请帮我修改",
        "收件人电话填错了，改成{phone}",
        "能不能改成送到公司？",
        "刚下的单，地址选成老家了，帮忙改一下",
        "修改一下收货信息，小区名字写错了",
        "改一下配送地址，换到{city}",
    ),
    "cancel_order": (
        "我要取消订单{order_no}",
        "拍错了，帮我取消一下",
        "不想要了，还没发货的话直接取消吧",
        "订单{order_no}能取消吗？重复下单了",
        "取消订单，买重了",
        "下错单了，请取消并退款",
        "怎么取消订单，页面找不到按钮",
        "等太久了不要了，取消{order_no}",
    ),
}

EN: dict[str, tuple[str, ...]] = {
    "order_status": (
        "Where is my order {order_no}?",
        "Has order {order_no} shipped yet?",
        "Can you check the status of my {product}?",
        "My order shows paid but nothing since. What's going on?",
        "Any update on {order_no}?",
        "I ordered a {product} last week, when will it arrive?",
        "Could you tell me the tracking number for my order",
    ),
    "refund_request": (
        "I cancelled {order_no}, when do I get my money back?",
        "I'd like a refund for the {product}.",
        "Refund of {amount} RMB still not received after {days} days",
        "Please refund my order, item not as described",
        "I returned the item already, where is my refund?",
        "Please send the money back to my card for {order_no}",
        "The price dropped right after I bought it, can I get the difference back?",
    ),
    "return_item": (
        "The {product} doesn't fit, how do I return it?",
        "Received a damaged {product}, I want to send it back",
        "How do I return order {order_no}?",
        "What is the return address?",
        "Can I return the {product} in a store in {city}?",
        "Wrong colour delivered, I want to return it",
        "The {product} broke after one use, I'd like to return it",
    ),
    "delivery_delay": (
        "Order {order_no} is {days} days late",
        "My parcel has been stuck in {city} for days",
        "Tracking hasn't updated in a week",
        "Delivery was promised for today and nobody came",
        "It says delivered but I never got it",
        "Why hasn't my order shipped yet? I need it urgently",
        "Still waiting for my {product}, {days} days now",
    ),
    "product_inquiry": (
        "Is the {product} in stock?",
        "What's the difference between this {product} and the old one?",
        "Does the store in {city} have the {product}?",
        "How long is the warranty on the {product}?",
        "Which size of {product} should I pick? I'm 180cm",
        "When will the {product} be restocked?",
        "Will the {product} be cheaper on Double 11?",
    ),
    "complaint": (
        "Your service is terrible, I called three times and nobody helped",
        "The staff in the store were rude to me",
        "Second faulty {product} in a row. Very disappointed.",
        "Nobody has solved my problem in {days} days, I will stop shopping with you",
        "The courier threw my parcel at the door, unacceptable",
        "My loyalty points disappeared, this is a scam",
        "Your refund process is a joke, I will report this to the consumer association",
        "I waited 30 minutes in the {city} store and no one served me",
    ),
    "account_issue": (
        "I can't log in to the app, it says wrong password",
        "I changed my phone number, how do I update my account?",
        "Not receiving the verification code",
        "Some of my member points are missing",
        "Please delete my account",
        "Member card {member} shows no points history",
        "My account is locked",
        "How do I change my registered email?",
    ),
    "payment_problem": (
        "Payment failed but I was charged",
        "WeChat Pay stuck on processing",
        "I was charged twice for {order_no}",
        "My credit card keeps getting declined",
        "Paid with Alipay but the order still says unpaid",
        "The coupon was not applied at checkout",
        "Charged {amount} RMB in store but the receipt shows less",
    ),
    "change_address": (
        "Wrong delivery address on {order_no}, please change it to my new place in {city}",
        "I moved, can you update the shipping address?",
        "Please change the address before it ships",
        "The phone number on the order is wrong, it should be {phone}",
        "Can you deliver to my office instead?",
        "Please fix the building number in my address",
    ),
    "cancel_order": (
        "Please cancel order {order_no}",
        "I ordered by mistake, please cancel",
        "Cancel my order if it hasn't shipped",
        "I placed the same order twice, cancel {order_no}",
        "Don't want it anymore, cancel please",
        "Cancel and refund please, wrong item ordered",
        "How do I cancel an order? I can't find the button",
    ),
}

SUBJECTS_ZH = {
    "order_status": ("订单查询", "物流查询"),
    "refund_request": ("退款", "退款未到账"),
    "return_item": ("退货申请", "售后"),
    "delivery_delay": ("催单", "物流太慢"),
    "product_inquiry": ("商品咨询", "咨询"),
    "complaint": ("投诉", "服务投诉"),
    "account_issue": ("账号问题", "会员问题"),
    "payment_problem": ("支付问题", "扣款异常"),
    "change_address": ("修改地址", "地址变更"),
    "cancel_order": ("取消订单", "订单问题"),
}
SUBJECTS_EN = {
    "order_status": ("Order status", "Where is my order"),
    "refund_request": ("Refund", "Refund not received"),
    "return_item": ("Return request", "After-sales"),
    "delivery_delay": ("Late delivery", "Shipping delay"),
    "product_inquiry": ("Product question", "Question"),
    "complaint": ("Complaint", "Very unhappy"),
    "account_issue": ("Account problem", "Login issue"),
    "payment_problem": ("Payment issue", "Double charge"),
    "change_address": ("Change address", "Address update"),
    "cancel_order": ("Cancel order", "Order issue"),
}
# Many people write a subject that says nothing.
GENERIC_SUBJECTS_ZH = ("咨询", "你好", "问题", "售后问题", "急", "订单问题")
GENERIC_SUBJECTS_EN = ("Help", "Question", "Hello", "Urgent", "Order issue", "Support")

OPENERS_ZH = ("", "", "你好，", "您好，", "在吗？", "客服你好，", "hi，", "麻烦问一下，", "亲，")
CLOSERS_ZH = ("", "", "谢谢", "谢谢！", "急！", "尽快回复", "麻烦了", "！！！", "🙏", "在线等", "。。。")
OPENERS_EN = ("", "", "Hi,", "Hello,", "Dear team,", "Hey", "Good morning,")
CLOSERS_EN = ("", "", "Thanks.", "Thank you!", "Please help asap.", "Regards", "!!!", "Thx")
# Hotline tickets are the agent's notes, in the third person.
AGENT_NOTES = ("客户来电称：", "来电反映：", "【来电】", "客户电话咨询，")
# Words Chinese customers often type in English.
CODE_SWITCH = {"订单": "order", "退款": "refund", "快递": "快递 express", "客服": "客服 CS", "会员": "VIP"}

# Context any request may start with, whatever it is about.
CONTEXT_ZH = (
    "上周买的{product}，",
    "订单{order_no}，",
    "我是老会员了，",
    "昨天在{city}门店买了东西，",
    "双十一下的单，",
    "用手机号{phone}注册的，",
    "之前也问过一次，",
)
CONTEXT_EN = (
    "I bought a {product} last week. ",
    "About order {order_no}: ",
    "I'm a member for years. ",
    "I shopped in your {city} store. ",
    "Ordered on Double 11. ",
    "I asked this before. ",
)
# A second thought that borrows another intent's words, so no single keyword gives the intent away.
CROSS_TALK_ZH = {
    "order_status": "，不行就取消吧",
    "refund_request": "，东西我已经寄回去了",
    "return_item": "，退款退到原账户就行",
    "delivery_delay": "，再不到我就要退款了",
    "product_inquiry": "，上次买的有质量问题",
    "complaint": "，钱到现在也没退",
    "account_issue": "，积分是上次订单的",
    "payment_problem": "，订单是不是已经取消了",
    "change_address": "，快递还没发吧",
    "cancel_order": "，还没付款的话更好",
}
CROSS_TALK_EN = {
    "order_status": ", otherwise just cancel it",
    "refund_request": ", I already sent the item back",
    "return_item": ", refund to my original card please",
    "delivery_delay": ", if it doesn't come I want a refund",
    "product_inquiry": ", the last one I bought was faulty",
    "complaint": ", and I still have no refund",
    "account_issue": ", the points were from my last order",
    "payment_problem": ", was the order cancelled?",
    "change_address": ", it hasn't shipped yet right?",
    "cancel_order": ", I haven't paid yet I think",
}
