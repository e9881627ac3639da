urlpatterns: list = []

api_urlpatterns: list = []
