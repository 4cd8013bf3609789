<#-- a JSON body built with <#list>: the app's bundle for the event's
     OS, every bundle, the touch data's ~ keys, the basket (empty here:
     the #else part) -->
{
  "bundle": "<#list app.app_bundles as b><#if b.os == user_data.os>${(b.android.package_name)!b.ios.bundle_id}<#break></#if></#list>",
  "bundles": [<#list app.app_bundles as b>"${b.os?lower_case}"<#sep>, </#list>],
  "touch": {<#assign first = true>
  <#list last_attributed_touch_data as k, v>
    <#-- ?has_next counts the skipped keys too: the comma goes first -->
    <#if !k?starts_with("~")><#continue></#if>
    <#if !first>,</#if>"${k?json_string}": <@jsonmap data=v/><#assign first = false>
  </#list>
  },
  "items": <#list content_items>[
  <#items as i>
    {"n": ${i?counter}, "sku": "${i.$sku!}"}<#sep>,
  </#items>
  ]<#else>[]</#list>,
  "empty_basket": ${(content_items?size == 0)?c}
}
