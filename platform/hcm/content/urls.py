from django.urls import path

from hcm.content.api import HomeView

urlpatterns = [
    path("public/site/home/", HomeView.as_view(), name="site-home"),
]
