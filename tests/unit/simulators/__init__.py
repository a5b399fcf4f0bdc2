"""Tests of the back-office simulators."""
