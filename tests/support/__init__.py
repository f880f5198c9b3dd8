"""Helpers the test suite shares: fixtures' building blocks, not tests."""
