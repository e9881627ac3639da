from django.urls import path

urlpatterns: list = []

api_urlpatterns: list = []
