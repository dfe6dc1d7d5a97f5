from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("profile/api-keys/", views.api_keys, name="profile-api-keys"),
    path("profile/api-keys/<str:public_id>/revoke/", views.api_key_revoke_view, name="profile-api-key-revoke"),
]
