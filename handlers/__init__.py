"""Interlock Lambda code: five thin entry points over the `interlock` domain package."""
