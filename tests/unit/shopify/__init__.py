"""Tests of the Shopify orders/create translation and webhook signatures."""
