"""A complete YAML example of every spec kind, shown by the spec reference (docs/specs-reference.md).

Together the examples are one consistent project: the datasets pull from the sources, the identity resolves
the datasets, the views, groups and model build on them, the capability serves the model. A test writes each
example to a file of a project folder and loads the folder through the real loader (`load_project`), and
checks that every key the reference lists appears in its kind's example, so an example can neither rot nor
leave a key out. The sources read `${env:CRM_PASSWORD}` and `${env:TICKETS_TOKEN}`.
"""

from __future__ import annotations

EXAMPLES: dict[str, str] = {
    "sources": """\
sources:
  - name: crm
    type: sql
    url: postgresql+psycopg://crm_reader:${env:CRM_PASSWORD}@db.internal:5432/crm
    schema: public
    connect_args: {sslmode: require}
    description: Customer master (Salesforce replica)
    owner: crm-team
  - name: clickstream
    type: files
    url: data/clickstream
    storage_options: {anon: "false"}
    description: Web and app events, one folder per day
    owner: web-team
  - name: tickets_api
    type: http
    url: https://service.example.com/api
    headers: {Authorization: "Bearer ${env:TICKETS_TOKEN}"}
    params: {locale: zh-CN}
    timeout_s: 30
    retries: 3
    description: The service desk's ticket API
    owner: service-team
""",
    "datasets": """\
datasets:
  - name: crm_customers
    source: crm
    table: customers
    description: Customers of the CRM, one row per customer
    owner: crm-team
    update_frequency: daily
    primary_key: [customer_id]
    incremental: {watermark: updated_at}
    dedupe: [customer_id]
    batch_rows: 50000
    fields:
      - name: customer_id
        type: int64
        description: The CRM's customer number
        checks:
          - not_null: true
          - unique: true
      - name: phone
        type: string
        pii: phone
        storage: token
        clean: [trim, halfwidth, phone]
        checks:
          - regex: "^1[3-9][0-9]{9}$"
            on_fail: warn
      - name: full_name
        pii: name
        storage: encrypted
      - name: tier
        checks:
          - accepted_values: [gold, silver, bronze]
      - name: birth_date
        clean: [trim, date]
        checks:
          - range: {min: "1900-01-01", max: "2026-12-31"}
      - name: updated_at
        type: timestamp_tz
    checks:
      - freshness: {column: updated_at, max_age: 2d}
      - row_count_change: {max_drop: 0.5, max_growth: 10}
        on_fail: warn
      - unique: [customer_id]
  - name: crm_orders
    source: crm
    query: SELECT order_id, customer_id, amount, ordered_at FROM orders WHERE status = 'paid'
    primary_key: [order_id]
    fields:
      - name: customer_id
        checks:
          - references: {dataset: crm_customers, field: customer_id}
  - name: click_events
    source: clickstream
    path: "events/*.csv"
    format: csv
    csv: {delimiter: ",", header: true, encoding: utf8}
    stream: {name: clicks, event_id: event_id, timestamp: ts}
  - name: service_tickets
    source: tickets_api
    endpoint: /tickets
    records: data.items
    pagination:
      type: page
      size: 500
      size_param: page_size
      page_param: page
      start_page: 1
      offset_param: offset
      cursor_param: cursor
      cursor_path: next_cursor
      next_path: next
      max_pages: 1000
    incremental: {watermark: updated_at, param: updated_since}
    fields:
      - name: text
        type: string
        description: What the customer wrote; phone and ID numbers in it are stored as tokens
        redact: [phone, landline, id_card, bank_card, email]
""",
    "entities": """\
entities:
  - name: person
    join_keys: [person_id]
    description: One human across every source system (OneID)
  - name: product
    join_keys: [product_id]
    key_types: {product_id: int64}
    description: A product of the catalogue
  - name: product_store
    join_keys: [product_id, store_id]
    key_types: {product_id: int64, store_id: int64}
    description: A product in one store
""",
    "identities": """\
identities:
  - name: person
    entity: person
    description: Customers of the CRM and the service desk resolved into persons
    owner: data-team
    sources:
      - dataset: crm_customers
        key: customer_id
        trust: 1
        updated_at: updated_at
        fields: {name: full_name, phone: phone, birth_date: birth_date}
        filter: tier IS NOT NULL
      - dataset: service_tickets
        key: ticket_id
        trust: 2
        fields: {name: [surname, given_name], email: contact_email}
    match_threshold: 0.9
    family_phone_names: 1
    max_pairs_u: 1000000
    duckdb_memory_limit: 1GB
    seed: 42
""",
    "tags": """\
tags:
  - name: high_value
    entity: person
    sql: SELECT customer_id AS person_id FROM crm_orders GROUP BY 1 HAVING sum(amount) > 10000
    every: 1d
    description: Spent more than 10,000 in all
    owner: marketing
""",
    "feature_views": """\
feature_views:
  - name: customer_orders
    entity: person
    timestamp: ts
    ttl: 90d
    sql: |
      SELECT customer_id AS person_id, ordered_at AS ts,
             sum(amount) OVER w AS spend_90d, count(*) OVER w AS orders_90d
      FROM crm_orders
      WINDOW w AS (PARTITION BY customer_id ORDER BY ordered_at RANGE INTERVAL 90 DAY PRECEDING)
    features:
      - {name: spend_90d, type: float64, description: Spend in the last 90 days}
      - {name: orders_90d, type: int64, description: Orders in the last 90 days}
    online: true
    description: Order history per customer
    owner: data-team
  - name: customer_clicks
    entity: person
    ttl: 30d
    windows:
      dataset: click_events
      keys: {person_id: customer_id}
      timestamp: ts
      event_id: event_id
      aggregations:
        - {name: views_7d, function: count, window: 7d, where: {event: view}}
        - name: products_1d
          function: distinct
          column: product_id
          window: 1d
          description: Distinct products seen in the last day
  - name: customer_recent
    entity: person
    ttl: 3650d
    sql: |
      SELECT customer_id AS person_id, max(ordered_at) AS ts,
             array_to_string(list(CAST(product_id AS VARCHAR) ORDER BY ordered_at DESC)[1:30], ',') AS recent_products
      FROM crm_order_lines GROUP BY customer_id
    features:
      - {name: recent_products, type: string, description: Recent product ids (newest first)}
    description: A customer's recent products, read by the recommender at serving
    owner: ecommerce-team
  - name: shelf
    entity: product_store
    ttl: 3d
    sql: SELECT product_id, store_id, day AS ts, on_hand > 0 AS in_stock, stockout_risk_7d FROM shelf_status
    features:
      - {name: in_stock, type: bool, description: Anything on the shelf at closing}
      - {name: stockout_risk_7d, type: float64, description: Risk of an empty shelf within the week}
    description: Stock of a product in a store
    owner: supply-chain-team
""",
    "on_demand_views": """\
on_demand_views:
  - name: basket
    entity: person
    request:
      - {name: basket_value, type: float64, description: Value of the basket at checkout}
    features:
      - name: basket_vs_spend
        type: float64
        expression: basket_value / (customer_orders.spend_90d + 1)
        description: The basket against the customer's recent spend
    description: Features of the basket being checked out
    owner: data-team
""",
    "feature_groups": """\
feature_groups:
  - name: churn_signals
    entity: person
    features: [customer_orders.*, customer_clicks.views_7d]
    description: What the service desk sees beside a churn score
    owner: data-team
""",
    "models": """\
models:
  - name: churn
    task: binary_classification
    entity: person
    label:
      sql: SELECT person_id, cutoff AS ts, churned AS label FROM churn_labels
      timestamp: ts
      label: label
    feature_views: [customer_orders, basket]
    feature_groups: [churn_signals]
    algorithm: lightgbm
    params: {num_leaves: 31, learning_rate: 0.05}
    validation: {split: time, fraction: 0.2}
    threshold: 0.5
    description: Will the customer stop buying within 60 days
    owner: data-team
    require_approval: true
    serving_aliases: [champion, canary]
    candidates:
      metric: auc
      budget: 10m
      algorithms:
        - algorithm: lightgbm
          params: {learning_rate: 0.05}
          grid: {num_leaves: [15, 31]}
        - algorithm: logistic
          params: {C: 1.0}
    card:
      purpose: Rank active customers by churn risk for retention offers
      owner: crm-analytics
      not_for: [credit decisions, pricing for one customer]
    slices: [marketing_opt_in]
  - name: next_basket_value
    task: regression
    entity: person
    label:
      sql: SELECT person_id, cutoff AS ts, next_30d_spend AS label FROM spend_labels
    feature_views: [customer_orders]
    description: What the customer will spend in the next 30 days
    owner: data-team
  - name: recommender
    task: recommendation
    entity: person
    label:
      sql: SELECT customer_id AS person_id, product_id, ordered_at, quantity FROM crm_order_lines
      timestamp: ordered_at
    feature_views: [customer_orders]
    validation: {split: time, fraction: 0.2}
    recommend:
      item: product_id
      item_entity: product
      weight: quantity
      items:
        sql: SELECT product_id, category, list_price, product_name FROM crm_products
        category: category
        attributes: [list_price]
        title: product_name
      candidates:
        cooccurrence: 100
        als: 100
        popular: 50
        neighbours: 50
        als_factors: 32
        als_iterations: 15
        als_regularization: 0.05
        als_alpha: 10.0
      ranker:
        num_boost_round: 150
        learning_rate: 0.05
        num_leaves: 31
        min_data_in_leaf: 50
        max_users: 20000
      repeat: false
      history: 30
      recent_items: customer_recent.recent_products
      k: 10
    description: What a customer may buy next
    owner: ecommerce-team
  - name: store_demand
    task: forecast
    entity: product_store
    label:
      sql: SELECT product_id, store_id, day AS ts, units, sold_out, on_hand, on_order FROM store_sales
      timestamp: ts
      label: units
    forecast:
      series_keys: [product_id, store_id]
      horizon: 28
      season_length: 7
      frequency: daily
      censored: sold_out
      exogenous:
        sql: SELECT day AS ts, promotion, promo_day FROM promotion_calendar
        columns: [promotion, promo_day]
      levels: [80, 95]
      stock_risk: {stock: [on_hand, on_order], horizon: 7}
      outputs: store_demand_forecasts
    description: Daily units per product and store for four weeks, and the risk of a stock-out this week
    owner: supply-chain-team
  - name: intent
    task: text_classification
    entity: person
    label:
      sql: |
        SELECT x.person_id, t.created_at AS ts, t.text, t.category AS label
        FROM service_tickets t JOIN person_crosswalk x ON x.key = t.ticket_id
        WHERE t.category IS NOT NULL
    feature_views: [customer_orders]
    text:
      column: text
      languages: [zh, en]
      encoder: all-MiniLM-L6-v2
      char_ngrams: true
      profile: auto
      min_class_rows: 5
      other: {label: other, max_accuracy_loss: 0.03, held_out_classes: 2, rounds: 3}
    description: What a service ticket asks for
    owner: service-team
""",
    "capabilities": """\
capabilities:
  - name: churn-risk
    model: churn
    alias: champion
    input: customer_id
    input_dataset: crm_customers
    decisions:
      - {decision: retain_offer, min_score: 0.7}
      - {decision: watch, min_score: 0.4}
      - {decision: none}
    fallback: {decision: none, score: 0.0}
    explain_top: 5
    feature_groups: [churn_signals]
    write_back: {source: crm, table: churn_scores}
    process:
      outcomes:
        - {outcome: HUMAN_REVIEW, min_score: 0.7}
        - {outcome: AUTO_APPROVE, min_score: 0.0}
      review_outcome: HUMAN_REVIEW
      min_confidence: 0.6
      deadline: 2d
    traffic:
      arms:
        - {name: champion, alias: champion, weight: 90}
        - {name: challenger, weight: 10}
        - {name: pinned, version: 3, weight: 0}
      shadows:
        - {name: candidate, alias: candidate, sample: 0.5}
        - {name: old, version: 2, sample: 0.1}
      canary:
        arm: challenger
        steps: [5, 25, 50, 100]
        step_every: 30m
        complete: hold
        guards:
          window: 10m
          min_requests: 200
          max_error_rate: 0.01
          max_fallback_increase: 0.05
          max_p99_ms: 20
          max_score_psi: 0.2
    description: Churn risk of a CRM customer, with the offer to make
    owner: crm-team
  - name: basket-value
    model: next_basket_value
    input: person_id
    value_bands:
      - {decision: vip_service, min_value: 2000}
      - {decision: standard, min_value: 0}
    fallback: {decision: standard}
    description: Expected 30-day spend, and the service level it earns
  - name: recommend
    model: recommender
    input: customer_id
    input_dataset: crm_customers
    fallback: {decision: popular}
    recommend:
      k: 10
      max_k: 50
      store_input: store_id
      stock:
        in_stock: shelf.in_stock
        unknown: exclude
        risk: shelf.stockout_risk_7d
        demote_above: 0.5
        drop_above: 0.9
    description: Products a customer may want next, on the shelf of their store
    owner: ecommerce-team
  - name: intent
    model: intent
    input: customer_id
    input_dataset: crm_customers
    fallback: {decision: other}
    routing:
      text: text
      min_confidence: 0.5
      top: 3
      queues: {refund_request: refunds, complaint: care}
      default_queue: general
      review_queue: triage
      feature_views: [customer_clicks]
      escalate:
        - name: angry_high_value
          when: "intent = 'complaint' AND customer_orders.spend_90d >= 3000"
          queue: vip_care
    write_back: {source: crm, table: ticket_intents, keys: [ticket_id]}
    description: The intent of a customer's message and the queue it goes to
    owner: service-team
""",
    "policies": """\
policies:
  - name: retail_access
    description: Who may call, read and govern what in the retail project
    owner: platform-team
    workspaces:
      - name: crm
        capabilities: [churn-risk]
        datasets: [crm_*]
        feature_views: [customer_activity]
        feature_groups: []
        models: [churn]
        description: The CRM team's data, models and capabilities
    rules:
      - name: crm_apps_call
        principals: [role:crm_app]
        actions: [call, see_explanation]
        objects: [workspace:crm]
        description: The CRM's own systems call its capabilities
      - name: marketing_churn
        principals: [workspace:marketing]
        actions: [call, read_features]
        objects: [churn-risk, customer_activity]
      - name: stewards_see_phones
        principals: [role:steward]
        actions: [read_catalog, read_dataset, "see_pii:phone"]
      - name: no_raw_crm_for_interns
        principals: [role:intern]
        actions: [read_dataset]
        objects: [workspace:crm]
        effect: deny
    limits:
      - name: marketing_quota
        principals: [workspace:marketing]
        per_minute: 600
        burst: 50
        shared_by: workspace
""",
}
