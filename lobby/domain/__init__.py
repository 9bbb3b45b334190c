"""The queue domain: plain functions over the models, no request, template or Socket.IO.

Functions here flush but never commit; callers wrap them in `unit_of_work`.
"""
