"""Outbound HTTP adapters (ERP, Salesforce, Shopify) with timeouts, retries and circuit breakers."""
