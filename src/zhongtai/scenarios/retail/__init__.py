"""The retail reference scenario: CRM, ERP, clickstream, customer service and inventory of one retailer."""

from zhongtai.scenarios.retail.generate import DEFAULT_TODAY, STAGES, GenerationReport, generate

__all__ = ["DEFAULT_TODAY", "STAGES", "GenerationReport", "generate"]
